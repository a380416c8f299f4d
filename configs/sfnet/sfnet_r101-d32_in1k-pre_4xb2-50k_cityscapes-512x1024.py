# The base config, starting from the official deep-stem ImageNet
# ResNet-101 that lxtGH/SFSegNets trains from (linked from its README),
# converted to our SFResNet keys:
#   python tools/model_converters/resnet_d2mmseg.py \
#       resnet101-deep.pth \
#       pretrain/resnet101-deep_mmseg.pth --config THIS_CONFIG
# Another location: --cfg-options model.backbone.init_cfg.checkpoint=PATH
_base_ = './sfnet_r101-d32_4xb2-50k_cityscapes-512x1024.py'
model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained',
            checkpoint='pretrain/resnet101-deep_mmseg.pth')))
