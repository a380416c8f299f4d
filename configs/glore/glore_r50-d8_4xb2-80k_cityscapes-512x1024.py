# GloRe R-50 on Cityscapes as PaddleSeg's
# glore_resnet50_os8_cityscapes_1024x512_80k.yml (78.26 mIoU val, reported;
# PaddleSeg's unit puts the GCN's ReLU after conv2, ours follows the official
# unit): 2 images per GPU, 512x1024 crops, SGD lr 0.01 / momentum 0.9 /
# wd 4e-5, poly 0.9 to 1e-5, 80k iterations, whole-image test.
_base_ = [
    '../_base_/models/glore_r50-d8.py',
    '../_base_/datasets/cityscapes.py',
    '../_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_80k.py',
]
crop_size = (512, 1024)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=4e-5)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=1e-5,
        power=0.9,
        begin=0,
        end=80000,
        by_epoch=False)
]
