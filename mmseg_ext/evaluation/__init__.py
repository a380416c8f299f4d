from .cityscapes_metric import CityscapesEvalMetric, numpy_in1d_compat
from .class_iou_metric import ClassIoUMetric
from .scene_metric import SceneIoUMetric, SceneTestLoop

__all__ = [
    'CityscapesEvalMetric', 'ClassIoUMetric', 'SceneIoUMetric',
    'SceneTestLoop', 'numpy_in1d_compat'
]
