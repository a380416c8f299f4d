# SFNet R-18 with deep supervision (DSN) on CamVid in the R-18 config's
# setting (the SFNet paper's CamVid setting; the paper reports no DSN CamVid
# figure), with the official DSN loss (CriterionSFNet, --fpn_dsn_loss:
# OHEM 0.7 / 100000 on the main output and on each of the three per-level
# heads, weight 1.0 each), from the official Cityscapes-trained R-18 DSN model
# (linked from the lxtGH/SFSegNets README), converted to our keys:
#   python tools/model_converters/sfnet2mmseg.py sfnet_r18_dsn.pth \
#       pretrain/sfnet_r18-d32-dsn_cityscapes_mmseg.pth --config \
#       configs/sfnet/sfnet_r18-d32-dsn_4xb2-50k_cityscapes-512x1024.py
# Another location: --cfg-options model.init_cfg.checkpoint=PATH
# The checkpoint carries the DSN heads; their 19-class classifiers, like the
# main one, keep mmseg's initialisation (the Cityscapes DSN config's
# PyTorch-default rule for the heads is replaced by the checkpoint).
_base_ = './sfnet_r18-d32_cityscapes-pre_8xb2-300e_camvid-720x960.py'
norm_cfg = dict(type='SyncBN', requires_grad=True)
ohem = dict(
    type='OhemCrossEntropyLoss', thresh=0.7, min_kept=100000, loss_weight=1.0)
dsn_head = dict(
    type='FCNHead',
    in_channels=128,
    channels=128,
    num_convs=1,
    kernel_size=3,
    concat_input=False,
    dropout_ratio=0.1,
    num_classes=11,
    norm_cfg=norm_cfg,
    align_corners=True,
    loss_decode=ohem)
model = dict(
    init_cfg=dict(
        checkpoint='pretrain/sfnet_r18-d32-dsn_cityscapes_mmseg.pth'),
    neck=dict(return_dsn=True),
    decode_head=dict(loss_decode=ohem),
    auxiliary_head=[
        dict(dsn_head, in_index=4),  # 1/4 level
        dict(dsn_head, in_index=5),  # 1/8 level
        dict(dsn_head, in_index=6),  # 1/16 level
    ])
