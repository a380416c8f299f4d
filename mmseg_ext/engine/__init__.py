"""Runner hooks that keep training reproducible across interrupts."""
from .hooks import RandomStateHook

__all__ = ['RandomStateHook']
