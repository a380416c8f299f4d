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
_base_ = ['mmseg::_base_/default_runtime.py']

custom_hooks = [
    dict(type='RandomStateHook'),
    dict(type='AtomicCheckpointHook'),
    dict(type='LabelCheckHook'),
]
