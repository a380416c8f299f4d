# PFNet (PointFlow) with the official deep-stem ResNet-50 (output stride 32:
# dilated conv2 but strided layers, `variant='D'`), PointFlow neck (PPM +
# PointFlowModule per level, training-script values 14/9/128/64) and fusion
# head with edge supervision; lxtGH/PFSegNets `DeepR50_PF_maxavg_deeply`.
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
        depth=50,
        stem_channels=128,
        strides=(1, 2, 2, 2),
        dilations=(1, 1, 2, 4),
        out_indices=(0, 1, 2, 3),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch'),
    neck=dict(
        type='PFNeck',
        in_channels=[256, 512, 1024, 2048],
        channels=256,
        pool_scales=(1, 2, 3, 6),
        match_dim=64,
        maxpool_size=14,
        avgpool_size=9,
        edge_points=128,
        norm_cfg=norm_cfg),
    decode_head=dict(
        type='PFHead',
        in_channels=[256, 256, 256, 256],
        in_index=(0, 1, 2, 3),
        edge_index=(4, 5, 6),
        channels=256,
        dropout_ratio=0.0,
        num_classes=16,
        norm_cfg=norm_cfg,
        align_corners=True,
        # official JointEdgeSegLightLossPfnet: OHEM CE (0.7, 10000 per GPU
        # batch) + class-balanced BCE on each of the 3 edge maps, weight 25
        loss_decode=dict(
            type='OhemCrossEntropyLoss', thresh=0.7, min_kept=10000,
            loss_weight=1.0),
        loss_edge=dict(type='ClassBalancedBCELoss', loss_weight=25.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
