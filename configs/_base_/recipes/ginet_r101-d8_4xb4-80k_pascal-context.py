# GINet R-101 + JPU with the SC-loss Pascal Context setup of PaddleSeg's GINet
# development commit e13869b5
# (ginet_resnet101_os8_pascal_context_80k_scloss.yml): 4 GPUs x 4 images,
# base size 520, 480x480 crops (mmseg's Pascal Context bases), SGD lr 0.001 /
# momentum 0.9 / wd 1e-4, poly 0.9 to 0, 80k iterations, losses CE 1 + aux CE
# 0.4 + SC 0.2; sliding-window test with 480 crops (mmseg's Pascal Context
# protocol). For the 60- and 59-class configs, which add their mmseg Pascal
# Context dataset base, num_classes and class embeddings. No dataset key
# here: mmengine refuses keys defined by two sibling bases.
_base_ = [
    '../models/ginet_r50-d8.py',
    '../default_runtime.py',
    'mmseg::_base_/schedules/schedule_80k.py',
]
data_preprocessor = dict(size=(480, 480))
model = dict(
    data_preprocessor=data_preprocessor,
    pretrained='open-mmlab://resnet101_v1c',
    backbone=dict(depth=101),
    test_cfg=dict(mode='slide', crop_size=(480, 480), stride=(320, 320)))
optimizer = dict(type='SGD', lr=0.001, momentum=0.9, weight_decay=1e-4)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=0.9,
        begin=0,
        end=80000,
        by_epoch=False)
]
