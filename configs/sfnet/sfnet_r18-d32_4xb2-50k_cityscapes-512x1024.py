# SFNet R-18 on Cityscapes (78.03 mIoU val, reported by the MMSeg-SFNet
# reproduction from the OpenMMLab algorithm challenge 2021).
_base_ = [
    '../_base_/models/sfnet_r18-d32.py',
    '../_base_/datasets/cityscapes.py',
    '../_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_80k.py',
]
crop_size = (512, 1024)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
# official: SGD lr 0.01, momentum 0.9, wd 1e-4, poly; 50k iterations as the
# MMSeg-SFNet reproduction
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=1e-4,
        power=1.0,
        begin=0,
        end=50000,
        by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=50000, val_interval=5000)
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=5000))
