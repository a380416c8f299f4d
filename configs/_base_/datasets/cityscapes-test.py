# Cityscapes test split for the evaluation server: no ground truth is loaded;
# CityscapesEvalMetric writes one labelIds PNG per image (trainId -> labelId via
# cityscapesscripts) and computes nothing. Submit the zipped output_dir.
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2048, 1024), keep_ratio=True),
    dict(type='PackSegInputs')
]
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='CityscapesDataset',
        data_root='data/cityscapes/',
        data_prefix=dict(_delete_=True, img_path='leftImg8bit/test'),
        pipeline=test_pipeline))
test_evaluator = dict(
    _delete_=True,
    type='CityscapesEvalMetric',
    format_only=True,
    keep_results=True,
    output_dir='work_dirs/format_results')
