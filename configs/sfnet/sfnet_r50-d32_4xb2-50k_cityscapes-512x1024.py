# SFNet R-50 (fpn_dim 256) on Cityscapes (80.17 mIoU val, reported by the
# MMSeg-SFNet reproduction from the OpenMMLab algorithm challenge 2021).
_base_ = './sfnet_r18-d32_4xb2-50k_cityscapes-512x1024.py'
model = dict(
    backbone=dict(depth=50),
    neck=dict(in_channels=[256, 512, 1024, 2048], channels=256),
    decode_head=dict(in_channels=[256, 256, 256, 256], channels=256))
