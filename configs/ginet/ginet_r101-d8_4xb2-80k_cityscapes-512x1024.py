# GINet R-101 + JPU on Cityscapes as PaddleSeg's
# ginet_resnet101_os8_cityscapes_1024x512_80k.yml (78.4 mIoU val, reported).
_base_ = './ginet_r50-d8_4xb2-80k_cityscapes-512x1024.py'
model = dict(pretrained='open-mmlab://resnet101_v1c', backbone=dict(depth=101))
