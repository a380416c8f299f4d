# PSPNet-R101-d8-mg124 (_base_ model) on Cityscapes, 769x769 crops, following
# SemSegPaddle `configs/pspnet_res101_cityscapes.yaml` (solver in the schedule
# base), slide test with stride crop/3 (SemSegPaddle `eval.py`).
_base_ = [
    '../_base_/models/pspnet_r101-d8-mg124.py',
    '../_base_/datasets/cityscapes_769x769.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/semsegpaddle_cityscapes.py',
]
crop_size = (769, 769)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=19),
    auxiliary_head=dict(num_classes=19),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(256, 256)))
train_dataloader = dict(batch_size=2)
