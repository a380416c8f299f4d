# DeepLabv3-R101-d8-mg124 (_base_ model) on Cityscapes, 769x769 crops,
# following SemSegPaddle `configs/deeplabv3_res101_cityscapes.yaml` (solver in
# the schedule base), slide test with stride crop/3 (SemSegPaddle `eval.py`).
_base_ = [
    '../_base_/models/deeplabv3_r101-d8-mg124.py',
    'mmseg::_base_/datasets/cityscapes_769x769.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/semsegpaddle_cityscapes.py',
]
crop_size = (769, 769)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=19),
    auxiliary_head=dict(num_classes=19),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(256, 256)))
# SemSegPaddle DATAAUG.RAND_SCALE_MIN/MAX = 0.75/2.0 of the 1024 short side
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(2049, 1025), ratio_range=(0.75, 2.0),
         keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))
