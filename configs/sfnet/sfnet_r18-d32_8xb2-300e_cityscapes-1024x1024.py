# SFNet R-18 on Cityscapes with the official training recipe:
# lxtGH/SFSegNets scripts/cityscacpes/train_cityscapes_sfnet_res18.sh
# (8 GPUs x 2 images, 1024x1024 crops of the x[0.5, 2.0] resized image,
# class-uniform sampling --class_uniform_pct 0.5 --class_uniform_tile 1024,
# colour jitter 0.25, Gaussian blur, flip, OHEM, SyncBN, SGD lr 0.01
# momentum 0.9 wd 1e-4, 300 epochs of poly (power 1.0) stepped once per
# epoch). One epoch = the 2975 train images (the class-uniform epoch keeps
# that length: 2975 - 78 * 19 random images + 78 centroid crops per class).
_base_ = './sfnet_r18-d32_4xb2-50k_cityscapes-512x1024.py'
crop_size = (1024, 1024)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    # RandomSizeAndCrop: scale U(0.5, 2.0), bicubic image / nearest label
    dict(
        type='RandomResize',
        scale=(2048, 1024),
        ratio_range=(0.5, 2.0),
        keep_ratio=True,
        interpolation='bicubic'),
    # a class-uniform item's crop covers its centroid
    dict(type='CentroidRandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='ColorJitter',
        brightness=0.25,
        contrast=0.25,
        saturation=0.25,
        hue=0.25),
    dict(type='RandomGaussianBlur'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(
        _delete_=True, type='ClassUniformSampler', class_uniform_pct=0.5),
    dataset=dict(
        _delete_=True,
        type='ClassUniformDataset',
        tile_size=1024,
        dataset=dict(
            type='CheckedCityscapesDataset',  # + mmseg_ext's sample checks
            data_root='data/cityscapes/',
            data_prefix=dict(
                img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
            pipeline=train_pipeline)))
max_epochs = 300
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=1.0,
        begin=0,
        end=max_epochs,
        by_epoch=True)
]
train_cfg = dict(
    _delete_=True,
    type='EpochBasedTrainLoop',
    max_epochs=max_epochs,
    val_interval=10)
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=10))
log_processor = dict(by_epoch=True)
