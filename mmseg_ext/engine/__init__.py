"""Runner hooks that keep training reproducible and its checkpoints whole
across interrupts (both are in ``configs/_base_/default_runtime.py``)."""
from .hooks import AtomicCheckpointHook, AtomicLocalBackend, RandomStateHook

__all__ = ['AtomicCheckpointHook', 'AtomicLocalBackend', 'RandomStateHook']
