# DeepLabv3-R101-d8-mg124 on Pascal Context 60 classes (background as class 0),
# 480x480 crops, with SemSegPaddle's Pascal Context recipe (_base_).
# SemSegPaddle trains only the 59-class setting; this 60-class twin keeps its
# recipe with mmseg's PascalContextDataset.
_base_ = [
    '../_base_/recipes/deeplabv3_r101-d8-mg124_4xb4-25k_pascal-context.py',
    '../_base_/datasets/pascal_context.py'
]
model = dict(
    decode_head=dict(num_classes=60), auxiliary_head=dict(num_classes=60))
