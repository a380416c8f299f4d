# SFNet R-18 trained from scratch on CamVid train (367 frames) in 800
# iterations on 2 CPU cores (about 23 min), evaluated on val (101 frames) at
# the full 480x360: a model that segments, not a published setting (for those
# see the other camvid configs and configs/sfnet/README.md). Measured with
# this config through `mim train mmseg` on 2 cores: val mIoU 44.35, aAcc 85.1
# (the main job's camvid stage re-measures it; docs/en/main_job.md).
# No ImageNet weights: the official initialisation of every layer
# (lxtGH/SFSegNets network/sfnet_resnet.py), BN instead of SyncBN (one
# process), OHEM as the official CriterionSFNet with min_kept for a 4x256x352
# batch, SGD + poly as the official train.py at a CPU-sized schedule.
_base_ = [
    '../_base_/models/sfnet_r18-d32.py',
    '../_base_/datasets/camvid.py',
    '../_base_/default_runtime.py',
]
crop_size = (256, 352)
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(norm_cfg=norm_cfg),
    neck=dict(norm_cfg=norm_cfg),
    decode_head=dict(
        num_classes=11,
        norm_cfg=norm_cfg,
        loss_decode=dict(
            type='OhemCrossEntropyLoss',
            thresh=0.7,
            min_kept=20000,
            loss_weight=1.0)))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=(480, 360),
        ratio_range=(0.75, 1.5),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
train_dataloader = dict(batch_size=4, dataset=dict(pipeline=train_pipeline))
iters = 800
optimizer = dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=5e-4)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=1e-4,
        power=0.9,
        begin=0,
        end=iters,
        by_epoch=False)
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=iters, val_interval=iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=iters))
randomness = dict(seed=0)
