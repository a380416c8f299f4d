# PSPNet on HRNetV2-W48 (no auxiliary head) (model base) with SemSegPaddle's
# Pascal Context recipe, as the ResNet-101 one
# (pspnet_r101-d8-mg124_4xb4-25k_pascal-context.py); SemSegPaddle has no
# Pascal Context config for this backbone.
_base_ = [
    '../models/pspnet_hr48.py',
    '../default_runtime.py',
    '../schedules/semsegpaddle_pascal-context.py',
]
data_preprocessor = dict(size=(480, 480))
model = dict(
    data_preprocessor=data_preprocessor,
    test_cfg=dict(mode='slide', crop_size=(480, 480), stride=(160, 160)))
