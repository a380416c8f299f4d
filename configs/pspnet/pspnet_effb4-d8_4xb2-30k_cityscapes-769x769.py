# PSPNet on EfficientNet-B4 (timm; backbone notes in the model base) on
# Cityscapes with the recipe of the R-101 config
# (pspnet_r101-d8-mg124_4xb2-30k_cityscapes-769x769): 769x769 crops,
# SemSegPaddle's solver, slide test with stride crop/3.
_base_ = [
    '../_base_/models/pspnet_effb4-d8.py',
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
