from .atomic_checkpoint_hook import AtomicCheckpointHook, AtomicLocalBackend
from .random_state_hook import RandomStateHook

__all__ = ['AtomicCheckpointHook', 'AtomicLocalBackend', 'RandomStateHook']
