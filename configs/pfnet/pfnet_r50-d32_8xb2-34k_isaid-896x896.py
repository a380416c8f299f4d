# PFNet R-50 on iSAID, as lxtGH/PFSegNets
# `scripts/pointflow/train_iSAID_pfnet_r50.sh` (official README: 66.9 mIoU
# val; the Jittor implementation PFSegNets-Jittor: 66.3 — reported, not
# reproduced).
_base_ = [
    '../_base_/models/pfnet_r50-d32.py',
    '../_base_/datasets/isaid_pfnet-896x896.py',
    '../_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_80k.py',
]
crop_size = (896, 896)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
# 8 GPUs x 2 patches (`--bs_mult 2`), SyncBN.
train_dataloader = dict(batch_size=2)
# Official: SGD lr 0.007, momentum 0.9, wd 1e-4, poly 0.9 for 16 epochs over
# the 33978 train patches (896x896, stride 512): 16 * 33978 / 16 = 33978
# iterations (mmseg's published count for its own converter, which also cuts
# images smaller than a patch: set max_iters to the patch count that
# tools/dataset_converters/isaid.py prints for yours). The official poly
# steps once per epoch; mmseg steps per iteration.
max_iters = 33978
optimizer = dict(type='SGD', lr=0.007, momentum=0.9, weight_decay=1e-4)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=0.9,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(
    type='IterBasedTrainLoop',
    max_iters=max_iters,
    val_interval=max_iters // 4)
default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=max_iters // 4))
