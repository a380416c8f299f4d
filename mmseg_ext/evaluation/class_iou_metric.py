"""mmseg's ``IoUMetric`` that also returns each class' IoU."""
from typing import Dict

import numpy as np
from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS


@METRICS.register_module()
class ClassIoUMetric(IoUMetric):
    """:class:`mmseg.evaluation.IoUMetric` returning per-class IoU too.

    mmseg 1.2.2's ``IoUMetric`` only logs its per-class table as text and
    returns the means (``aAcc``, ``mIoU``, ...). This subclass adds
    ``IoU.<class name>`` for every class of ``dataset_meta['classes']``: the
    values of that table (%, rounded to 2 decimals; ``nan`` for a class
    absent from both prediction and ground truth), so mmengine writes them
    into the test run's ``<timestamp>.json`` with the other metrics. Same
    arguments as ``IoUMetric``; with ``format_only=True`` nothing is added.
    """

    def total_area_to_metrics(self, *args, **kwargs) -> dict:
        """``IoUMetric.total_area_to_metrics``, keeping its per-class
        result for :meth:`compute_metrics`."""
        self._class_metrics = IoUMetric.total_area_to_metrics(*args, **kwargs)
        return self._class_metrics

    def compute_metrics(self, results: list) -> Dict[str, float]:
        metrics = super().compute_metrics(results)
        if self.format_only:
            return metrics
        ious = self._class_metrics['IoU']
        for name, iou in zip(self.dataset_meta['classes'], ious):
            metrics[f'IoU.{name}'] = float(np.round(iou * 100, 2))
        return metrics
