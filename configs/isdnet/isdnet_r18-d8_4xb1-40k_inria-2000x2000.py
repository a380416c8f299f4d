# ISDNet R-18 on Inria Aerial (official
# isdnet_r18-d8_2500x2500_40k_InriaAerial.py: 4 GPUs x 1 image, 5000x5000
# tiles resized x0.8 and cropped to 2000, 40k iterations, whole-image test at
# 5000). README: building IoU 74.39 (reported, not reproduced).
# SGD lr 0.01 as the official code (the paper says 0.001, cedricgsh/ISDNet#18).
_base_ = [
    '../_base_/models/isdnet_r18-d8.py',
    '../_base_/datasets/inria.py',
    '../_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_40k.py',
]
crop_size = (2000, 2000)
num_classes = 2  # background, building
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=num_classes),
    refine_head=dict(num_classes=num_classes),
    auxiliary_head=dict(num_classes=num_classes))
