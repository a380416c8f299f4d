# SemSegPaddle's HRNet Cityscapes solver
# (`configs/pspnet_hrnet_cityscapes.yaml`): the ResNet one (_base_) with
# lr 0.001 for 240 epochs.
_base_ = './semsegpaddle_cityscapes.py'
optimizer = dict(lr=0.001)
optim_wrapper = dict(optimizer=optimizer)
# 240 epochs x 372 iterations (2975 images, 4 GPUs x 2)
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=0.9,
        begin=0,
        end=89280,
        by_epoch=False)
]
train_cfg = dict(max_iters=89280, val_interval=11160)
default_hooks = dict(checkpoint=dict(interval=11160))
