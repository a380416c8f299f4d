# DeepLabv3 on HRNetV2-W48: the four branches upsampled to 1/4 and concatenated
# (720 channels), as SemSegPaddle `hrnet.py` does with seg_flag, and no
# auxiliary head, as in SemSegPaddle's only HRNet config
# (`configs/pspnet_hrnet_cityscapes.yaml`, AuxHead False). SemSegPaddle builds
# HRNet-W40; W48 is the width with mmseg's ImageNet weights (README). Heads
# as the ResNet-101 model (_base_): SyncBN, align_corners=True.
_base_ = './deeplabv3_r101-d8-mg124.py'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    pretrained='open-mmlab://msra/hrnetv2_w48',
    backbone=dict(
        _delete_=True,
        type='HRNet',
        norm_cfg=norm_cfg,
        norm_eval=False,
        extra=dict(
            stage1=dict(
                num_modules=1,
                num_branches=1,
                block='BOTTLENECK',
                num_blocks=(4, ),
                num_channels=(64, )),
            stage2=dict(
                num_modules=1,
                num_branches=2,
                block='BASIC',
                num_blocks=(4, 4),
                num_channels=(48, 96)),
            stage3=dict(
                num_modules=4,
                num_branches=3,
                block='BASIC',
                num_blocks=(4, 4, 4),
                num_channels=(48, 96, 192)),
            stage4=dict(
                num_modules=3,
                num_branches=4,
                block='BASIC',
                num_blocks=(4, 4, 4, 4),
                num_channels=(48, 96, 192, 384)))),
    decode_head=dict(
        in_channels=[48, 96, 192, 384],
        in_index=(0, 1, 2, 3),
        input_transform='resize_concat'),
    auxiliary_head=None)
