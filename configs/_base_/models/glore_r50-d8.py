# GloRe (arXiv 1811.12814): dilated ResNet-50-D8 (deep stem, output stride
# 8), GloRe head (512 channels, one GloRe unit with 64 nodes / 128 states) and
# an FCN auxiliary head on res4 with weight 0.4, as SemSegPaddle's `glore`
# (PaddlePaddle/Research CV/SemSegPaddle/src/models/modeling/glore.py).
custom_imports = dict(imports=['mmseg_ext'], allow_failed_imports=False)
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    pretrained='open-mmlab://resnet50_v1c',
    backbone=dict(
        type='ResNetV1c',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        # the Paddle ResNets dilate every block of a stage, the first too
        contract_dilation=False,
        # from scratch (model.pretrained=None), the Paddle ResNet's rule:
        # every BN at gamma 1 (no zero-init residual); add
        # init_cfg=dict(type='PaddleDefault', layer=['Conv2d', '_BatchNorm'])
        # for its N(0, sqrt(2 / fan_in)) convs
        zero_init_residual=False),
    decode_head=dict(
        type='GloReHead',
        in_channels=2048,
        in_index=3,
        channels=512,
        num_mid=64,
        normalize=False,
        # SemSegPaddle's glore() ends the unit with bn(), not bn_zero():
        # its last BN starts at gamma 1 (the GloRe authors' unit: 0)
        zero_init_norm=False,
        # SemSegPaddle: 1x1 reduction on Cityscapes, 3x3 on Pascal Context
        kernel_size=1,
        padding=0,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    # the official aux head (SemSegPaddle model_libs.FCNHead / PaddleSeg
    # AuxLayer) takes PaddlePaddle's default initialisers
    auxiliary_head=dict(
        type='FCNHead',
        init_cfg=dict(type='PaddleDefault', layer=['Conv2d', '_BatchNorm']),
        in_channels=1024,
        in_index=2,
        channels=256,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
