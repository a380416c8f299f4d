from .cityscapes_metric import CityscapesEvalMetric, numpy_in1d_compat
from .class_iou_metric import ClassIoUMetric

__all__ = ['CityscapesEvalMetric', 'ClassIoUMetric', 'numpy_in1d_compat']
