# ISDNet R-18 from scratch on CamVid, for the int8 benchmark's accuracy
# column (tools/benchmarks/bench_models.py; a short run, not a published
# setting). The Inria and DeepGlobe samples hold one tile each, too little
# for a from-scratch ISDNet to learn more than the majority class here;
# CamVid's 367 frames are the one real set large enough on these CPUs.
# Model: configs/_base_/models/isdnet_r18-d8.py with 11 classes and no
# ImageNet/STDC weights; data and schedule: the SFNet-R18 CamVid recipe
# (configs/sfnet/sfnet_r18-d32_1xb4-800_camvid-256x352.py).
_base_ = [
    '../../../configs/_base_/models/isdnet_r18-d8.py',
    '../../../configs/_base_/datasets/camvid.py',
    '../../../configs/_base_/default_runtime.py',
]
crop_size = (256, 352)
num_classes = 11
model = dict(
    pretrained=None,
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(num_classes=num_classes),
    refine_head=dict(num_classes=num_classes, shallow_net=dict(init_cfg=None)),
    auxiliary_head=dict(num_classes=num_classes))
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
iters = 300
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4)
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
