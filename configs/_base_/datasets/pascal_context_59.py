# mmseg's pascal_context_59 dataset base with CheckedPascalContextDataset59
# (mmseg_ext/datasets/checked.py):
# the same dataset, which also refuses an empty image folder and, as each
# sample loads, an image under 32 px or a label map of another size, naming
# the files. The pipelines are mmseg's, unchanged.
_base_ = 'mmseg::_base_/datasets/pascal_context_59.py'
train_dataloader = dict(dataset=dict(type='CheckedPascalContextDataset59'))
val_dataloader = dict(dataset=dict(type='CheckedPascalContextDataset59'))
test_dataloader = val_dataloader
