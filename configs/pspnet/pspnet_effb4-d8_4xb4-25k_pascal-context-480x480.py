# PSPNet on EfficientNet-B4 (timm) on Pascal Context 60 classes
# (background as class 0); backbone notes and recipe in _base_.
_base_ = [
    '../_base_/recipes/pspnet_effb4-d8_4xb4-25k_pascal-context.py',
    '../_base_/datasets/pascal_context.py'
]
model = dict(
    decode_head=dict(num_classes=60), auxiliary_head=dict(num_classes=60))
