# Semantic FPN + PointRend, ResNet-50-V1c, Cityscapes 512x1024, with the
# training of the PaddlePaddle reproduction CuberrChen/PointRend-Paddle
# (78.78 mIoU val with R-101, reported): 80k iterations, 4 GPUs x 4 images,
# SGD lr 0.01 (momentum 0.9, wd 5e-4), linear warm-up over 1000 iterations
# from 1e-5, then poly 0.9 down to 1e-5 (PointRend-Paddle `train.py` +
# `lr_scheduler/warmuppoly.py`). The model is mmseg's own:
# CascadeEncoderDecoder(FPN -> FPNHead -> PointHead).
_base_ = [
    'mmseg::_base_/models/pointrend_r50.py',
    '../_base_/datasets/cityscapes.py',
    '../_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_80k.py',
]
custom_imports = dict(imports=['mmseg_ext'], allow_failed_imports=False)
crop_size = (512, 1024)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    # detectron2 (SUBDIVISION_NUM_POINTS: 8192) and the paper's budget,
    # 1024*2048/16**2; mmseg's base writes 8196 (PointRend-Paddle copies
    # it). See README.
    test_cfg=dict(subdivision_num_points=8192))
train_dataloader = dict(batch_size=4)
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
# PointRend-Paddle's Warmup_PolyDecay: LinearWarmup(1e-5 -> 0.01, 1000
# steps) around PolynomialDecay(0.01 -> 1e-5, power 0.9, 79000 steps)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=1000),
    dict(
        type='PolyLR',
        eta_min=1e-5,
        power=0.9,
        begin=1000,
        end=80000,
        by_epoch=False),
]
