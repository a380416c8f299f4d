# mmseg's runtime base plus this package's runtime hooks; every config here
# inherits it instead of 'mmseg::_base_/default_runtime.py'.
# RandomStateHook (mmseg_ext/engine/hooks/random_state_hook.py) stores the
# Python/numpy/torch RNG states in each checkpoint, so `--resume` continues
# with the same dropout masks and augmentations as an uninterrupted run.
# AtomicCheckpointHook (mmseg_ext/engine/hooks/atomic_checkpoint_hook.py)
# makes CheckpointHook write each checkpoint under a temporary name and
# rename it when whole, so a killed save leaves no truncated iter_N.pth.
# LabelCheckHook (mmseg_ext/engine/hooks/label_check_hook.py) refuses, before
# each train/val/test iteration, label maps holding ids that are neither a
# class of the model nor its ignore_index, naming the file and the values.
# ResumeCheckHook (mmseg_ext/engine/hooks/resume_check_hook.py) refuses to
# resume a checkpoint of another model, falls back to the newest complete
# checkpoint when last_checkpoint is empty or dangling, and resumes a worker
# group that torchrun's elastic agent restarted. PreemptionHook
# (mmseg_ext/engine/hooks/preemption_hook.py) saves at the next iteration
# boundary on SIGTERM and exits with 75, for a requeue with --resume.
# CheckedRunner (mmseg_ext/engine/runner.py) refuses unknown hook options
# (e.g. default_hooks.checkpoint.intervl) when the runner is built.
# docs/en/reliability.md describes them.
_base_ = ['mmseg::_base_/default_runtime.py']

runner_type = 'CheckedRunner'
custom_hooks = [
    dict(type='ResumeCheckHook'),
    dict(type='RandomStateHook'),
    dict(type='AtomicCheckpointHook'),
    dict(type='PreemptionHook', grace_period=25),
    dict(type='LabelCheckHook'),
]
