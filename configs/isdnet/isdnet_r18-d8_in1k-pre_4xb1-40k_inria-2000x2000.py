# The base config with both ImageNet weight files local (no download):
# the official ISDNet loads STDC-Seg's STDCNet813M_73.91.tar into its
# shallow net and mmseg's resnet18_v1c into the deep branch.
#   python tools/model_converters/stdc2mmseg.py STDCNet813M_73.91.tar \
#       pretrain/stdc1_in1k_isdnet-shallow-6ch.pth --config THIS_CONFIG
#   resnet18_v1c (already mmseg's keys), saved under pretrain/:
#   https://download.openmmlab.com/pretrain/third_party/resnet18_v1c-b5776b93.pth  # noqa
# Other locations: --cfg-options model.pretrained=PATH
#   model.refine_head.shallow_net.init_cfg.checkpoint=PATH
_base_ = './isdnet_r18-d8_4xb1-40k_inria-2000x2000.py'
model = dict(
    pretrained='pretrain/resnet18_v1c-b5776b93.pth',
    refine_head=dict(
        shallow_net=dict(
            init_cfg=dict(
                type='Pretrained',
                checkpoint='pretrain/stdc1_in1k_isdnet-shallow-6ch.pth'))))
