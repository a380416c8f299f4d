# PFNet (PointFlow) with the official deep-stem ResNet-50 (output stride 32:
# dilated conv2 but strided layers, `variant='D'`), PointFlow neck (PPM +
# PointFlowModule per level, training-script values 14/9/128/64) and fusion
# head with edge supervision; lxtGH/PFSegNets `DeepR50_PF_maxavg_deeply`.
# SFNet's skeleton (data preprocessor, SFResNet, SyncBN, OHEM fusion head)
# with the PointFlow neck in place of the SF neck.
_base_ = './sfnet_r18-d32.py'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(depth=50),
    neck=dict(
        _delete_=True,
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
        edge_index=(4, 5, 6),
        channels=256,
        num_classes=16,
        # official JointEdgeSegLightLossPfnet: OHEM CE (0.7, 10000 per GPU
        # batch, from the SFNet base) + class-balanced BCE on each of the 3
        # edge maps, weight 25
        loss_edge=dict(type='ClassBalancedBCELoss', loss_weight=25.0)))
