# mmseg's pascal_context dataset base with CheckedPascalContextDataset
# (mmseg_ext/datasets/checked.py):
# the same dataset, which also refuses an empty image folder and, as each
# sample loads, an image under 32 px or a label map of another size, naming
# the files. The pipelines are mmseg's, unchanged.
_base_ = 'mmseg::_base_/datasets/pascal_context.py'
train_dataloader = dict(dataset=dict(type='CheckedPascalContextDataset'))
val_dataloader = dict(dataset=dict(type='CheckedPascalContextDataset'))
test_dataloader = val_dataloader
