# ISDNet (CVPR 2022), cedricgsh/ISDNet configs/_base_/models/isdnet_r50-d8.py
# with the R-18 overrides of configs/isdnet/isdnet_r18-d8_*.py: deep branch =
# ResNet-18-V1c (OS8) + ASPP (128 ch) on the x4 nearest-downsampled image;
# shallow branch = STDC1 stem + 2 stages on the 2-level Laplacian residuals of
# the full image; two Relational-Aware Fusion stages (1/16 -> 1/8).
custom_imports = dict(imports=['mmseg_ext'], allow_failed_imports=False)
norm_cfg = dict(type='SyncBN', requires_grad=True)
# mmseg's conversion (stdc2mmseg.py) of STDC-Seg's STDCNet813M_73.91.tar, the
# ImageNet weights the official ShallowNet loads; the 3-channel stem is
# duplicated to 6 channels when loaded (STDCShallowNet.init_weights)
stdc1_checkpoint = 'https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/stdc/stdc1_20220308-5368626c.pth'  # noqa
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='ISDNetEncoderDecoder',
    data_preprocessor=data_preprocessor,
    pretrained='open-mmlab://resnet18_v1c',
    down_ratio=4,
    backbone=dict(
        type='ResNetV1c',
        depth=18,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        contract_dilation=True),
    decode_head=dict(
        type='RefineASPPHead',
        in_channels=512,
        in_index=3,
        channels=128,
        dilations=(1, 12, 24, 36),
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    refine_head=dict(
        type='ISDHead',
        in_channels=3,
        channels=128,
        num_classes=19,
        dropout_ratio=0.1,
        norm_cfg=norm_cfg,
        align_corners=False,
        shallow_net=dict(
            type='STDCShallowNet',
            in_channels=6,
            norm_cfg=norm_cfg,
            init_cfg=dict(type='Pretrained', checkpoint=stdc1_checkpoint)),
        recon_loss_weight=0.1,
        affinity_loss_weight=1.0,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=256,
        in_index=2,
        channels=64,
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
