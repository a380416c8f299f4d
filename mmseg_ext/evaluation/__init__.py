from .cityscapes_metric import CityscapesEvalMetric, numpy_in1d_compat

__all__ = ['CityscapesEvalMetric', 'numpy_in1d_compat']
