# The base config, starting from the official deep-stem ImageNet
# ResNet-50 that lxtGH/PFSegNets trains from (linked from its README),
# converted to our SFResNet keys:
#   python tools/model_converters/resnet_d2mmseg.py \
#       resnet50-deep.pth \
#       pretrain/resnet50-deep_mmseg.pth --config THIS_CONFIG
# Another location: --cfg-options model.backbone.init_cfg.checkpoint=PATH
_base_ = './pfnet_r50-d32_8xb2-34k_isaid-896x896.py'
model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained', checkpoint='pretrain/resnet50-deep_mmseg.pth')))
