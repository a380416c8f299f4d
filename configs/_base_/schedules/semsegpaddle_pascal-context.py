# SemSegPaddle's Pascal Context solver (`configs/*_res101_pascalcontext.yaml`):
# the Cityscapes one (_base_) with lr 0.005.
_base_ = './semsegpaddle_cityscapes.py'
optimizer = dict(lr=0.005)
optim_wrapper = dict(optimizer=optimizer)
# 80 epochs x 313 iterations (4998 images, 4 GPUs x 4)
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=0.9,
        begin=0,
        end=25040,
        by_epoch=False)
]
train_cfg = dict(max_iters=25040, val_interval=3130)
default_hooks = dict(checkpoint=dict(interval=3130))
