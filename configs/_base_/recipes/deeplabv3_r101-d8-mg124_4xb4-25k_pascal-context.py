# DeepLabv3-R101-d8-mg124 with SemSegPaddle's Pascal Context recipe
# (`configs/deeplabv3_res101_pascalcontext.yaml`), slide test with stride
# crop/3 (SemSegPaddle `eval.py`), for the 60- and 59-class configs, which add
# their mmseg Pascal Context dataset base and num_classes. SemSegPaddle crops
# Pascal Context at 520x520; the configs use the 480x480 crop of mmseg's
# Pascal Context bases (README), which also set the batch of 4 per GPU. No
# dataset key here: mmengine refuses keys defined by two sibling bases.
_base_ = [
    '../models/deeplabv3_r101-d8-mg124.py',
    '../default_runtime.py',
    '../schedules/semsegpaddle_pascal-context.py',
]
data_preprocessor = dict(size=(480, 480))
model = dict(
    data_preprocessor=data_preprocessor,
    test_cfg=dict(mode='slide', crop_size=(480, 480), stride=(160, 160)))
