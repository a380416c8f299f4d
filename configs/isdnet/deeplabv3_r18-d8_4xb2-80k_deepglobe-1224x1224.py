# DeepLabV3 R-18 (OS8) on DeepGlobe: the speed/memory baseline of ISDNet's
# deep branch (the same ResNet-18-V1c + ASPP) run on the full-resolution image,
# without ISDNet's x4 downsampling and shallow branch; mmseg's
# deeplabv3_r18-d8 settings with the DeepGlobe data of the ISDNet configs.
_base_ = [
    'mmseg::_base_/models/deeplabv3_r50-d8.py',
    '../_base_/datasets/deepglobe.py',
    '../_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_80k.py',
]
custom_imports = dict(imports=['mmseg_ext'], allow_failed_imports=False)
crop_size = (1224, 1224)
num_classes = 7
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    pretrained='open-mmlab://resnet18_v1c',
    backbone=dict(depth=18),
    decode_head=dict(in_channels=512, channels=128, num_classes=num_classes),
    auxiliary_head=dict(in_channels=256, channels=64, num_classes=num_classes))
