# GloRe R-101 on Cityscapes as SemSegPaddle's glore_res101_cityscapes.yaml
# (78.4 mIoU val single scale, reported): 4 GPUs x 2 images, 769x769 crops,
# SGD lr 0.01 / momentum 0.9 / wd 4e-5, poly 0.9 to 0, 80 epochs
# (2975 / 8 x 80 = 29,750 iterations, rounded to 30k), multi-grid (layer4
# dilations 4, 8, 16), sliding-window test on the full 2048x1024 image with
# 769 crops at stride int(769 / 3) = 256 (SemSegPaddle eval.py).
_base_ = [
    '../_base_/models/glore_r50-d8.py',
    '../_base_/datasets/cityscapes_769x769.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/semsegpaddle_cityscapes.py',
]
crop_size = (769, 769)
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2048, 1024), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    pretrained='open-mmlab://resnet101_v1c',
    # SemSegPaddle's multi-grid multiplies the stage dilation 4 by (1, 2, 4);
    # mmseg's multi_grid holds the blocks' absolute dilations
    backbone=dict(depth=101, multi_grid=(4, 8, 16)),
    # fluid's resize_bilinear aligns corners
    decode_head=dict(align_corners=True),
    auxiliary_head=dict(align_corners=True),
    test_cfg=dict(mode='slide', crop_size=(769, 769), stride=(256, 256)))
# SemSegPaddle's solver (schedule base) for 80 epochs rounded to 30k
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=0.9,
        begin=0,
        end=30000,
        by_epoch=False)
]
train_cfg = dict(max_iters=30000, val_interval=3000)
default_hooks = dict(checkpoint=dict(interval=3000))
