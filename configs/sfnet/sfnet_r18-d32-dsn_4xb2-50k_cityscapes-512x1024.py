# SFNet R-18 with deep supervision (DSN) on every fused level
# (78.31 mIoU val, reported by the MMSeg-SFNet reproduction from the
# OpenMMLab algorithm challenge 2021).
# Official CriterionSFNet: OHEM (0.7, min_kept 100000) on the main output and
# on each of the three per-level heads, weight 1.0 each.
_base_ = './sfnet_r18-d32_4xb2-50k_cityscapes-512x1024.py'
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
    num_classes=19,
    norm_cfg=norm_cfg,
    align_corners=True,
    loss_decode=ohem)
model = dict(
    # The official DSN heads keep PyTorch's default init (sfnet_resnet.py
    # never initialises them). mmseg's EncoderDecoder holds a list of
    # auxiliary heads in a plain ModuleList that its init_weights never
    # reaches, so the rule is set from the segmentor.
    init_cfg=dict(
        type='TorchDefault', layer=[], override=dict(name='auxiliary_head')),
    neck=dict(return_dsn=True),
    decode_head=dict(loss_decode=ohem),
    auxiliary_head=[
        dict(dsn_head, in_index=4),  # 1/4 level
        dict(dsn_head, in_index=5),  # 1/8 level
        dict(dsn_head, in_index=6),  # 1/16 level
    ])
