# SFNet R-50 (fpn_dim 256) on CamVid in the R-18 config's setting (the SFNet
# paper's CamVid setting; the paper reports no R-50 CamVid figure), from the
# official Cityscapes-trained SFNet R-50 (80.4 mIoU Cityscapes val, linked
# from the lxtGH/SFSegNets README), converted to our keys:
#   python tools/model_converters/sfnet2mmseg.py sfnet_r50.pth \
#       pretrain/sfnet_r50-d32_cityscapes_mmseg.pth \
#       --config configs/sfnet/sfnet_r50-d32_4xb2-50k_cityscapes-512x1024.py
# Another location: --cfg-options model.init_cfg.checkpoint=PATH
_base_ = './sfnet_r18-d32_cityscapes-pre_8xb2-300e_camvid-720x960.py'
model = dict(
    init_cfg=dict(checkpoint='pretrain/sfnet_r50-d32_cityscapes_mmseg.pth'),
    backbone=dict(depth=50),
    neck=dict(in_channels=[256, 512, 1024, 2048], channels=256),
    decode_head=dict(in_channels=[256, 256, 256, 256], channels=256))
