# mmseg's pascal_context (60 classes) dataset base with
# CheckedPascalContextDataset (mmseg_ext/datasets/checked.py): the same
# dataset, which also refuses an empty image folder and, as each sample
# loads, an image under 32 px or a label map of another size, naming the
# files. The pipelines are mmseg's, unchanged; the test-time augmentation
# below is the one mmseg 1.2.2 gives only its 59-class base
# (mmseg::_base_/datasets/pascal_context_59.py): without it `--tta` fails
# with KeyError: 'tta_pipeline'.
_base_ = 'mmseg::_base_/datasets/pascal_context.py'
train_dataloader = dict(dataset=dict(type='CheckedPascalContextDataset'))
val_dataloader = dict(dataset=dict(type='CheckedPascalContextDataset'))
test_dataloader = val_dataloader

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
