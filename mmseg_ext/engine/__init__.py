"""Runner hooks that keep training reproducible and its checkpoints whole
across interrupts, and refuse label values outside the model's classes (all
three are in ``configs/_base_/default_runtime.py``)."""
from .hooks import (AtomicCheckpointHook, AtomicLocalBackend, LabelCheckHook,
                    RandomStateHook)

__all__ = [
    'AtomicCheckpointHook', 'AtomicLocalBackend', 'LabelCheckHook',
    'RandomStateHook'
]
