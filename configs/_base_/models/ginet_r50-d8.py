# GINet (arXiv 2009.06160): dilated ResNet-50-D8 + JPU neck (width 512, 2048
# channels out), GINet head (84 visual nodes, 256 states, class nodes from
# class-name embeddings, SC loss 0.2) and an FCN auxiliary head on c3 with
# weight 0.4, as PaddleSeg's `GINet` (paddleseg/models/ginet.py). The official
# backbone is ResNet-vd (mmseg's ResNetV1d: deep stem + average-pool
# shortcuts); mmseg ships ImageNet weights only for ResNetV1c, used here.
custom_imports = dict(imports=['mmseg_ext'], allow_failed_imports=False)
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    pretrained='open-mmlab://resnet50_v1c',
    backbone=dict(
        type='ResNetV1c',
        depth=50,
        num_stages=4,
        out_indices=(1, 2, 3),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        # the Paddle ResNets dilate every block of a stage, the first too
        contract_dilation=False,
        # from scratch (model.pretrained=None), the Paddle ResNet's rule:
        # every BN at gamma 1 (no zero-init residual); add
        # init_cfg=dict(type='PaddleDefault', layer=['Conv2d', '_BatchNorm'])
        # for its N(0, sqrt(2 / fan_in)) convs
        zero_init_residual=False),
    # outputs (c2, c3, JPU feature); PaddleSeg's JPU resizes with
    # align_corners=True (a no-op at output stride 8, where all levels match)
    neck=dict(
        type='JPU',
        in_channels=(512, 1024, 2048),
        mid_channels=512,
        start_level=0,
        end_level=-1,
        dilations=(1, 2, 4, 8),
        align_corners=True,
        norm_cfg=norm_cfg,
        # PaddleSeg's JPU layers take PaddlePaddle's default initialisers
        init_cfg=dict(type='PaddleDefault', layer=['Conv2d', '_BatchNorm'])),
    decode_head=dict(
        type='GINetHead',
        in_channels=2048,
        in_index=2,
        channels=512,
        num_node=84,
        num_state=256,
        # [19, 384] all-MiniLM-L6-v2 embeddings of the Cityscapes class names
        class_embeddings=('{{ fileDirname }}/../../ginet/class_embeddings/'
                          'cityscapes_minilm-l6.npy'),
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=True,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
        loss_sc=dict(type='SCLoss', loss_weight=0.2)),
    # the official aux head (SemSegPaddle model_libs.FCNHead / PaddleSeg
    # AuxLayer) takes PaddlePaddle's default initialisers
    auxiliary_head=dict(
        type='FCNHead',
        init_cfg=dict(type='PaddleDefault', layer=['Conv2d', '_BatchNorm']),
        in_channels=1024,
        in_index=1,
        channels=256,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=True,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
