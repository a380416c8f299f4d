"""Runner hooks: reproducible training across interrupts, label checks."""
from .hooks import LabelCheckHook, RandomStateHook

__all__ = ['LabelCheckHook', 'RandomStateHook']
