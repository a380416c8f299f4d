# iSAID as PFNet (PointFlow, arXiv 2103.06564) trains and evaluates on it:
# lxtGH/PFSegNets `datasets/__init__.py` (iSAID branch), `datasets/iSAID.py`,
# `transforms/`, `scripts/pointflow/train_iSAID_pfnet_r50.sh` and
# `scripts/pointflow/test/test_iSAID_pfnet_R50.sh`.
#
# data_root: the output of `tools/dataset_converters/isaid.py` (896x896
# patches, stride 512; images smaller than a patch on a side are kept whole).
# Labels are ids 0-15 with background 0 counted in the 16-class mIoU, as the
# official eval.py does (iSAIDDataset, reduce_zero_label=False).
#
# Differences from mmseg::_base_/datasets/isaid.py, which is not PFNet's
# recipe: no random rescale/crop and no PhotoMetricDistortion; every sample
# is resized to exactly 896x896 (identity for patches, aspect-distorting for
# the whole-kept images, as the official joint_transforms.Resize), then the 8
# flips/rotations, Gaussian blur and the boundary target.
# GenerateBoundary and RandomGaussianBlur come from mmseg_ext: the model base
# (configs/_base_/models/pfnet_r50-d32.py) sets custom_imports (mmengine
# refuses the same key in two bases).
dataset_type = 'CheckediSAIDDataset'  # mmseg's iSAIDDataset + sample checks
data_root = 'data/iSAID'
crop_size = (896, 896)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    # joint_transforms.Resize(896): PIL bicubic image, nearest label, no
    # aspect ratio kept
    dict(
        type='Resize',
        scale=crop_size,
        keep_ratio=False,
        backend='pillow',
        interpolation='bicubic'),
    # official RandomHorizontallyFlip, RandomVerticalFlip (p=0.5 each) and
    # RandomRotateThreeDegree (k*90 degrees, k uniform in 0-3) draw each of
    # the 8 symmetries of the square with probability 1/8. So do these two:
    # RandomRotFlip(rotate_prob=0) always rotates by k*90 and flips (one of
    # the 4 reflections, uniformly); an earlier horizontal flip (p=0.5)
    # turns that into one of the 4 rotations half of the time.
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomRotFlip', rotate_prob=0.0, flip_prob=1.0),
    # train.py --gblur is on by default: transforms.RandomGaussianBlur on
    # every image (sigma 0.15-1.30); --color_aug is 0 (no colour jitter)
    dict(type='RandomGaussianBlur', sigma_range=(0.15, 1.30), prob=1.0),
    # datasets/iSAID.py:get_boundary on the transformed mask, thickness 8
    dict(type='GenerateBoundary', thickness=8),
    dict(type='PackSegInputs')
]
# eval.py --inference_mode whole --scales 1.0 --no_flip --resize_scale 896:
# every patch resized to 896x896 and predicted whole. The official code also
# resizes the label (nearest) and scores at 896x896; mmseg scores the
# prediction resized back to the label's own size, which differs only for
# the images kept whole (not 896x896).
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='Resize',
        scale=crop_size,
        keep_ratio=False,
        backend='pillow',
        interpolation='bicubic'),
    # after Resize: the label stays at its own size (mmseg's convention)
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=2,  # --bs_mult 2 per GPU
    num_workers=4,
    persistent_workers=True,
    # ISAIDDataset ignores --class_uniform_pct (its build_epoch is a no-op):
    # plain shuffling
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='img_dir/train', seg_map_path='ann_dir/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

# Test-time augmentation (`--tta`), mmseg's iSAID ratios and flips
# (mmseg::_base_/datasets/isaid.py) with the resampling of test_pipeline
# (pillow bicubic). The official eval.py's multi-scale mode (--scales,
# flip) scales the 896 input the same way; its training scripts test one
# scale without flip (test_pipeline). Ratios apply to the image's own size:
# patches are 896x896, whole-kept smaller images keep their aspect ratio.
tta_img_ratios = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='TestTimeAug',
        transforms=[
            [
                dict(
                    type='Resize',
                    scale_factor=r,
                    keep_ratio=True,
                    backend='pillow',
                    interpolation='bicubic') for r in tta_img_ratios
            ],
            [
                dict(type='RandomFlip', prob=0., direction='horizontal'),
                dict(type='RandomFlip', prob=1., direction='horizontal')
            ], [dict(type='LoadAnnotations')], [dict(type='PackSegInputs')]
        ])
]
