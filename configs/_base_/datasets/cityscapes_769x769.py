# mmseg's cityscapes_769x769 dataset base with CheckedCityscapesDataset
# (mmseg_ext/datasets/checked.py):
# the same dataset, which also refuses an empty image folder and, as each
# sample loads, an image under 32 px or a label map of another size, naming
# the files. The pipelines are mmseg's, unchanged.
_base_ = 'mmseg::_base_/datasets/cityscapes_769x769.py'
train_dataloader = dict(dataset=dict(type='CheckedCityscapesDataset'))
val_dataloader = dict(dataset=dict(type='CheckedCityscapesDataset'))
test_dataloader = val_dataloader
