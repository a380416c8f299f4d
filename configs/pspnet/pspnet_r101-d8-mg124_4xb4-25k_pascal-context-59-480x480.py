# PSPNet-R101-d8-mg124 on Pascal Context 59 classes (background ignored),
# 480x480 crops, with SemSegPaddle's Pascal Context recipe (_base_).
_base_ = [
    '../_base_/recipes/pspnet_r101-d8-mg124_4xb4-25k_pascal-context.py',
    '../_base_/datasets/pascal_context_59.py'
]
model = dict(
    decode_head=dict(num_classes=59), auxiliary_head=dict(num_classes=59))
