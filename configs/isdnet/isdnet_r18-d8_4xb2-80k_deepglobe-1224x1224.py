# ISDNet R-18 on DeepGlobe land cover (official
# isdnet_r18-d8_1224x1224_80k_DeepGlobe.py: 4 GPUs x 2 images, 1224 crops of
# the 2448x2448 tiles, 80k iterations, whole-image test at 2448).
# Paper: 73.30 mIoU, 27.70 FPS (reported, not reproduced).
# SGD lr 0.01 as the official code (the paper says 0.001; the author says to
# follow the code, cedricgsh/ISDNet#18), momentum 0.9, wd 5e-4, poly 0.9.
_base_ = [
    '../_base_/models/isdnet_r18-d8.py',
    '../_base_/datasets/deepglobe.py',
    '../_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_80k.py',
]
crop_size = (1224, 1224)
# unknown, urban, agriculture, rangeland, forest, water, barren
num_classes = 7
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=num_classes),
    refine_head=dict(num_classes=num_classes),
    auxiliary_head=dict(num_classes=num_classes))
# official: checkpoint and evaluation every 4000 iterations
train_cfg = dict(val_interval=4000)
default_hooks = dict(checkpoint=dict(interval=4000))
