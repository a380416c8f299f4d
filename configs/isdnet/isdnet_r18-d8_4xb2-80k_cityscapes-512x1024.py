# ISDNet R-18 on Cityscapes with mmseg's standard Cityscapes recipe (512x1024
# crops, 4 GPUs x 2 images, 80k iterations, whole 1024x2048 test), the
# setting of the official repo's
# deeplabv3_r18-d8_512x1024_80K_cityscapes_refine (whose SpatialRefineHead
# is not in the released code: ISDHead here).
# No Cityscapes number of ours or of the official README to report.
_base_ = [
    '../_base_/models/isdnet_r18-d8.py',
    '../_base_/datasets/cityscapes.py',
    '../_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_80k.py',
]
crop_size = (512, 1024)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
