# PSPNet, ResNet-101-V1c (deep stem) dilated to output stride 8 with multi-grid
# (1, 2, 4) in the last stage, on Cityscapes, 769x769 crops, following
# SemSegPaddle `configs/pspnet_res101_cityscapes.yaml`: SyncBN, aux FCN head on
# res4 (weight 0.4), SGD momentum 0.9, wd 4e-5, poly 0.9 to 0, bilinear
# align_corners=True (fluid `resize_bilinear`), slide test with stride crop/3
# (SemSegPaddle `eval.py`).
_base_ = [
    'mmseg::_base_/models/pspnet_r50-d8.py',
    'mmseg::_base_/datasets/cityscapes_769x769.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_80k.py',
]
custom_imports = dict(imports=['mmseg_ext'], allow_failed_imports=False)
crop_size = (769, 769)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    pretrained='open-mmlab://resnet101_v1c',
    # SemSegPaddle resnet.py: layer3 dilated 2 in every block (no
    # contracted first dilation), layer4 multi-grid 4 x (1, 2, 4); mmseg's
    # multi_grid holds the absolute dilations
    backbone=dict(
        depth=101, multi_grid=(4, 8, 16), contract_dilation=False),
    decode_head=dict(num_classes=19, align_corners=True),
    auxiliary_head=dict(num_classes=19, align_corners=True),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(256, 256)))
train_dataloader = dict(batch_size=2)
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=4e-5)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
# 80 epochs x 372 iterations (2975 images, 4 GPUs x 2)
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=29760,
         by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=29760, val_interval=3720)
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=3720))
