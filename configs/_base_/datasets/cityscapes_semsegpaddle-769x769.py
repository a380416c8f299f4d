# mmseg's Cityscapes 769x769 data with SemSegPaddle's random scale for
# DeepLabv3 and HRNet (`configs/deeplabv3_res101_cityscapes.yaml`,
# `configs/pspnet_hrnet_cityscapes.yaml`: DATAAUG.RAND_SCALE_MIN/MAX =
# 0.75/2.0, of the 1024 short side) instead of mmseg's 0.5-2.0; 2 images per
# GPU.
_base_ = './cityscapes_769x769.py'
crop_size = (769, 769)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=(2049, 1025),
        ratio_range=(0.75, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))
