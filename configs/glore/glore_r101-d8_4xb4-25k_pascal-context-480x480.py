# GloRe R-101 on Pascal Context with 60 classes (background counted), the
# 59-class SemSegPaddle recipe otherwise; no published number for this split.
_base_ = './glore_r101-d8_4xb4-25k_pascal-context-59-480x480.py'
dataset_type = 'CheckedPascalContextDataset'  # + sample checks
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=(520, 520),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=(480, 480), cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(520, 520), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    dataset=dict(type=dataset_type, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(type=dataset_type, pipeline=test_pipeline))
test_dataloader = val_dataloader
model = dict(
    decode_head=dict(num_classes=60), auxiliary_head=dict(num_classes=60))
