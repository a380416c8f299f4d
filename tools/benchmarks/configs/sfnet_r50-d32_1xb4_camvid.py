# SFNet R-50 from scratch on CamVid: the R-18 CamVid recipe
# (configs/sfnet/sfnet_r18-d32_1xb4-800_camvid-256x352.py) with the R-50
# backbone and neck widths of configs/sfnet/sfnet_r50-d32_4xb2-50k_
# cityscapes-512x1024.py. Trained by tools/benchmarks/bench_models.py for
# the int8 benchmark's accuracy column (a short run; not a published
# setting).
_base_ = '../../../configs/sfnet/sfnet_r18-d32_1xb4-800_camvid-256x352.py'
model = dict(
    backbone=dict(depth=50),
    neck=dict(in_channels=[256, 512, 1024, 2048], channels=256),
    decode_head=dict(in_channels=[256, 256, 256, 256], channels=256))
