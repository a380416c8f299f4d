# SFNet with the official deep-stem ResNet-18 (output stride 32), SF neck
# (FAM + PPM) and fusion head; lxtGH/SFSegNets `DeepR18_SF_deeply`.
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
    pretrained=None,
    backbone=dict(
        type='SFResNet',
        depth=18,
        stem_channels=128,
        strides=(1, 2, 2, 2),
        dilations=(1, 1, 2, 4),
        out_indices=(0, 1, 2, 3),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch'),
    neck=dict(
        type='SFNeck',
        in_channels=[64, 128, 256, 512],
        channels=128,
        pool_scales=(1, 2, 3, 6),
        norm_cfg=norm_cfg),
    decode_head=dict(
        type='SFHead',
        in_channels=[128, 128, 128, 128],
        in_index=(0, 1, 2, 3),
        channels=128,
        dropout_ratio=0.0,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=True,
        # official: OhemCrossEntropy2dTensor(0.7, 10000) per GPU batch
        loss_decode=dict(
            type='OhemCrossEntropyLoss',
            thresh=0.7,
            min_kept=10000,
            loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
