from .atomic_checkpoint_hook import AtomicCheckpointHook, AtomicLocalBackend
from .label_check_hook import LabelCheckHook
from .random_state_hook import RandomStateHook

__all__ = [
    'AtomicCheckpointHook', 'AtomicLocalBackend', 'LabelCheckHook',
    'RandomStateHook'
]
