"""Runner hooks that keep training reproducible, its checkpoints whole and
its resumes right across interrupts, kills and preemptions, and refuse label
values outside the model's classes; a Runner that refuses unknown hook
options (all in ``configs/_base_/default_runtime.py``)."""
from .hooks import (PREEMPTED_EXIT_CODE, AtomicCheckpointHook,
                    AtomicLocalBackend, LabelCheckHook, PreemptionHook,
                    RandomStateHook, ResumeCheckHook)
from .runner import CheckedRunner, check_hook_options

__all__ = [
    'AtomicCheckpointHook', 'AtomicLocalBackend', 'CheckedRunner',
    'LabelCheckHook', 'PREEMPTED_EXIT_CODE', 'PreemptionHook',
    'RandomStateHook', 'ResumeCheckHook', 'check_hook_options'
]
