# PSPNet on HRNetV2-W48 (no auxiliary head) on Pascal Context 60 classes
# (background as class 0); backbone notes and recipe in _base_.
_base_ = [
    '../_base_/recipes/pspnet_hr48_4xb4-25k_pascal-context.py',
    '../_base_/datasets/pascal_context.py'
]
model = dict(decode_head=dict(num_classes=60))
