# SFNet R-101 (fpn_dim 256) on Cityscapes (81.01 mIoU val, reported by the
# MMSeg-SFNet reproduction from the OpenMMLab algorithm challenge 2021).
_base_ = './sfnet_r50-d32_4xb2-50k_cityscapes-512x1024.py'
model = dict(backbone=dict(depth=101))
