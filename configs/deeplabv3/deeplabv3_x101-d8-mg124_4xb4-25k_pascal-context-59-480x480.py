# ResNeXt-101 (32x4d) in place of ResNet-101 with the same dilation,
# multi-grid and recipe as the _base_ config (SemSegPaddle lists ResNeXt
# among its backbones but ships no ResNeXt code or config: README).
_base_ = './deeplabv3_r101-d8-mg124_4xb4-25k_pascal-context-59-480x480.py'
model = dict(
    pretrained='open-mmlab://resnext101_32x4d',
    backbone=dict(type='ResNeXt', groups=32, base_width=4))
