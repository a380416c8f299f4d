# Semantic FPN + PointRend, ResNet-101-V1c: the model size of the PaddlePaddle
# reproduction CuberrChen/PointRend-Paddle (78.78 mIoU Cityscapes val,
# reported).
_base_ = './pointrend_r50_4xb4-80k_cityscapes-512x1024.py'
model = dict(pretrained='open-mmlab://resnet101_v1c', backbone=dict(depth=101))
