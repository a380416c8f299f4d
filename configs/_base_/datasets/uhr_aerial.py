# What the ultra-high-resolution (UHR) aerial datasets share as ISDNet trains
# and tests them (cedricgsh/ISDNet configs/_base_/datasets/, mmseg 0.16,
# written in mmseg 1.x terms): the img_dir/ann_dir train/val/test splits that
# tools/dataset_converters/{deepglobe,inria}.py write, one image per GPU for
# the whole-image val and test, and mIoU. deepglobe.py and inria.py add the
# dataset, its root, crop size, pipelines (a fixed-ratio RandomResize,
# RandomCrop, RandomFlip, RandomRotate and PhotoMetricDistortion for
# training; one Resize for the whole tile at test) and the training batch.
# Left to the model config (1.x moved them out of the pipeline): the official
# Normalize (ImageNet mean/std, to_rgb) and Pad(size=crop_size, pad_val=0,
# seg_pad_val=255) are SegDataPreProcessor(mean, std, bgr_to_rgb=True,
# size=crop_size, pad_val=0, seg_pad_val=255).
train_dataloader = dict(
    num_workers=8,  # official workers_per_gpu=8
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        data_prefix=dict(
            img_path='img_dir/train', seg_map_path='ann_dir/train')))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val')))
test_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        data_prefix=dict(img_path='img_dir/test',
                         seg_map_path='ann_dir/test')))
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
