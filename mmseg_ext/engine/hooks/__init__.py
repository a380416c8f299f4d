from .atomic_checkpoint_hook import AtomicCheckpointHook, AtomicLocalBackend
from .label_check_hook import LabelCheckHook
from .preemption_hook import PREEMPTED_EXIT_CODE, PreemptionHook
from .random_state_hook import RandomStateHook
from .resume_check_hook import ResumeCheckHook

__all__ = [
    'AtomicCheckpointHook', 'AtomicLocalBackend', 'LabelCheckHook',
    'PREEMPTED_EXIT_CODE', 'PreemptionHook', 'RandomStateHook',
    'ResumeCheckHook'
]
