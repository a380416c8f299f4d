# GloRe R-101 on Pascal Context (59 classes, background ignored) as
# SemSegPaddle's glore_res101_pascalcontext.yaml (48.4 mIoU val single scale,
# reported), except the crop: 4 GPUs x 4 images, 480x480 crops (the issue's
# and mmseg's Pascal Context setting; SemSegPaddle crops 520x520) from a 520
# base size scaled 0.5-2.0 (mmseg's pascal_context_59 pipeline, unchanged),
# SGD lr 0.005 / momentum 0.9 / wd 4e-5, poly 0.9 to 0, 80 epochs
# (4998 / 16 x 80 = 24,990 iterations, rounded to 25k), multi-grid (layer4
# dilations 4, 8, 16), 3x3 reduction conv without padding (fluid's default),
# sliding-window test with crops of the training size at stride a third of
# it (SemSegPaddle eval.py: int(crop / 3) = 160 for 480).
_base_ = [
    '../_base_/models/glore_r50-d8.py',
    '../_base_/datasets/pascal_context_59.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/semsegpaddle_pascal-context.py',
]
crop_size = (480, 480)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    pretrained='open-mmlab://resnet101_v1c',
    # SemSegPaddle's multi-grid multiplies the stage dilation 4 by (1, 2, 4);
    # mmseg's multi_grid holds the blocks' absolute dilations
    backbone=dict(depth=101, multi_grid=(4, 8, 16)),
    decode_head=dict(
        kernel_size=3, padding=0, num_classes=59, align_corners=True),
    auxiliary_head=dict(num_classes=59, align_corners=True),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(160, 160)))
# SemSegPaddle's solver (schedule base) for 80 epochs rounded to 25k
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=0.9,
        begin=0,
        end=25000,
        by_epoch=False)
]
train_cfg = dict(max_iters=25000, val_interval=2500)
default_hooks = dict(checkpoint=dict(interval=2500))
