# SemSegPaddle's Cityscapes solver (`configs/*_res101_cityscapes.yaml`,
# `src/utils/solver.py`): SGD momentum 0.9, wd 4e-5, lr 0.01, poly 0.9 to 0.
_base_ = 'mmseg::_base_/schedules/schedule_80k.py'
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=4e-5)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
# 80 epochs x 372 iterations (2975 images, 4 GPUs x 2)
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=0.9,
        begin=0,
        end=29760,
        by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=29760, val_interval=3720)
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=3720))
