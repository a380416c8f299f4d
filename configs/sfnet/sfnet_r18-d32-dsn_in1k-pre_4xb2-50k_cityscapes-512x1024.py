# The base config, starting from the official deep-stem ImageNet
# ResNet-18 that lxtGH/SFSegNets trains from (linked from its README),
# converted to our SFResNet keys:
#   python tools/model_converters/resnet_d2mmseg.py \
#       resnet18-deep-inplane128.pth \
#       pretrain/resnet18-deep-inplane128_mmseg.pth --config THIS_CONFIG
# Another location: --cfg-options model.backbone.init_cfg.checkpoint=PATH
_base_ = './sfnet_r18-d32-dsn_4xb2-50k_cityscapes-512x1024.py'
model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained',
            checkpoint='pretrain/resnet18-deep-inplane128_mmseg.pth')))
