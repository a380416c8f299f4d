# mmseg's Pascal Context (60 classes) base with the test-time augmentation
# that mmseg 1.2.2 gives only its 59-class base
# (mmseg::_base_/datasets/pascal_context_59.py): without it `--tta` fails
# with KeyError: 'tta_pipeline'.
_base_ = 'mmseg::_base_/datasets/pascal_context.py'

# Test-time augmentation (`--tta`), mmseg's Pascal Context 59 ratios and
# flips.
tta_img_ratios = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
tta_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
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
