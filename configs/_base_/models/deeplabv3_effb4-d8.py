# DeepLabv3 on EfficientNet-B4 from timm through mmseg's TIMMBackbone,
# output stride 8 (timm dilates the last two stages), features of stages
# 1-4: (32, 56, 160, 448) channels at strides (4, 8, 8, 8). Needs `timm`
# (and torchvision). SemSegPaddle lists EfficientNet among its backbones
# but ships no EfficientNet code or config, so the variant is ours (README).
# The backbone keeps timm BatchNormAct2d: timm has no SyncBN route through
# TIMMBackbone's norm_layer, and mmengine's sync_bn conversion would drop
# the fused activation; the heads are the ResNet-101 model's (_base_, SyncBN).
_base_ = './deeplabv3_r101-d8-mg124.py'
model = dict(
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='TIMMBackbone',
        model_name='efficientnet_b4',
        features_only=True,
        pretrained=True,
        out_indices=(1, 2, 3, 4),
        output_stride=8),
    decode_head=dict(in_channels=448),
    auxiliary_head=dict(in_channels=160))
