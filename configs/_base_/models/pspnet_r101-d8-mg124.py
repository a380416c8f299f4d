# PSPNet, ResNet-101-V1c (deep stem) dilated to output stride 8 with multi-grid
# (1, 2, 4) in the last stage, as SemSegPaddle builds it: SyncBN, aux FCN head
# on res4 (weight 0.4), bilinear align_corners=True (fluid `resize_bilinear`).
_base_ = 'mmseg::_base_/models/pspnet_r50-d8.py'
custom_imports = dict(imports=['mmseg_ext'], allow_failed_imports=False)
model = dict(
    pretrained='open-mmlab://resnet101_v1c',
    # SemSegPaddle resnet.py: layer3 dilated 2 in every block (no
    # contracted first dilation), layer4 multi-grid 4 x (1, 2, 4); mmseg's
    # multi_grid holds the absolute dilations
    backbone=dict(depth=101, multi_grid=(4, 8, 16), contract_dilation=False),
    decode_head=dict(align_corners=True),
    auxiliary_head=dict(align_corners=True))
