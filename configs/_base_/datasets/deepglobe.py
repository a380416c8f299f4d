# DeepGlobe Land Cover as ISDNet trains and tests it: 2448x2448 tiles, random
# 1224x1224 crops, whole-image test at 2448. Every value is from the official
# cedricgsh/ISDNet configs/_base_/datasets/deepglobe_1224x1224.py (mmseg 0.16),
# written in mmseg 1.x terms; splits, loaders and metric in the UHR aerial
# base. Prepare the data with
#   python tools/dataset_converters/deepglobe.py DOWNLOAD \
#       --splits-dir GLNET_LISTS -o data/deepglobe_landcover
# (454 train / 207 val / 142 test tiles, the FCtL/GLNet split).
# mIoU here averages all 7 classes; the published DeepGlobe mIoU (GLNet, FCtL,
# ISDNet 73.30) is the mean of the per-class IoUs without `unknown`.
_base_ = './uhr_aerial.py'
dataset_type = 'DeepGlobeDataset'
data_root = 'data/deepglobe_landcover'
crop_size = (1224, 1224)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    # official Resize(img_scale=(2448, 2448), ratio_range=(1., 1.)),
    # keep_ratio=True by default in 0.x: a fixed-ratio RandomResize
    dict(
        type='RandomResize',
        scale=(2448, 2448),
        ratio_range=(1.0, 1.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    # official RandomRotate(prob=0.5, degree=(90, 270)): an angle drawn
    # uniformly from [90, 270] degrees (not quarter turns only), corners padded
    # with 0 / seg 255 as in 0.x
    dict(type='RandomRotate', prob=0.5, degree=(90, 270)),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    # official MultiScaleFlipAug(img_scale=(2448, 2448), flip=False) with
    # Resize(keep_ratio=True): one scale, no flip
    dict(type='Resize', scale=(2448, 2448), keep_ratio=True),
    # after Resize: the metric compares with the ground truth at its own size
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=2,  # official samples_per_gpu=2 (4 GPUs)
    dataset=dict(
        type=dataset_type, data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type, data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader  # merged into the base's: the test split

# Test-time augmentation (`--tta`), as mmseg's dataset bases: the whole tile
# at each ratio of its own size, with and without a horizontal flip
# (SegTTAModel averages the 6 predictions). The official ISDNet tests one
# scale without flip; these ratios keep the 2448 tile within 1.25x.
tta_img_ratios = [0.75, 1.0, 1.25]
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='TestTimeAug',
        transforms=[
            [
                dict(type='Resize', scale_factor=r, keep_ratio=True)
                for r in tta_img_ratios
            ],
            [
                dict(type='RandomFlip', prob=0., direction='horizontal'),
                dict(type='RandomFlip', prob=1., direction='horizontal')
            ], [dict(type='LoadAnnotations')], [dict(type='PackSegInputs')]
        ])
]
