# Cityscapes test split for the evaluation server. Used by the
# `*_cityscapes-test.py` configs as
#   test_dataloader = {{_base_.cityscapes_test_dataloader}}
#   test_evaluator = {{_base_.cityscapes_test_evaluator}}
# (own names, because mmengine forbids the same key in two bases). No ground
# truth is loaded; CityscapesEvalMetric writes one labelIds PNG per image
# (trainId -> labelId via cityscapesscripts) and computes nothing. Zip the
# output_dir and upload it. `mim test mmseg_ext CFG --checkpoint CKPT
# --format-only --out DIR` does the same for any Cityscapes config.
cityscapes_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2048, 1024), keep_ratio=True),
    dict(type='PackSegInputs')
]
cityscapes_test_dataloader = dict(
    _delete_=True,
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='CityscapesDataset',
        data_root='data/cityscapes/',
        data_prefix=dict(img_path='leftImg8bit/test'),
        pipeline=cityscapes_test_pipeline))
cityscapes_test_evaluator = dict(
    _delete_=True,
    type='CityscapesEvalMetric',
    format_only=True,
    keep_results=True,
    output_dir='work_dirs/format_results')
