# DeepLabv3 on HRNetV2-W48 (no auxiliary head; backbone notes in the model
# base) on Cityscapes, 769x769 crops, slide test with stride crop/3, as
# SemSegPaddle `configs/pspnet_hrnet_cityscapes.yaml`: random scale 0.75-2.0
# (dataset base), lr 0.001 for 240 epochs (schedule base).
_base_ = [
    '../_base_/models/deeplabv3_hr48.py',
    '../_base_/datasets/cityscapes_semsegpaddle-769x769.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/semsegpaddle_cityscapes-hrnet.py',
]
crop_size = (769, 769)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=19),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(256, 256)))
