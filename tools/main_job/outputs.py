"""Figures read back from what mmengine writes under a work dir.

Training losses come from ``vis_data/scalars.json`` (one JSON record per
logged iteration), test metrics from the test run's ``<timestamp>.json``
(mmengine's ``LoggerHook`` dumps the evaluator's metrics there; per-class
IoU appears as ``IoU.<class>`` with :class:`~mmseg_ext.evaluation.
ClassIoUMetric`).
"""
import json
import math
import os
import os.path as osp
from typing import Dict, Iterable, List


def read_losses(work_dir: str, key: str = 'loss') -> List[float]:
    """Logged training values of ``key``, in order, from
    ``vis_data/scalars.json``.

    These are mmengine's moving means over the last 10 iterations
    (``LogProcessor(window_size=10)``), as the training log shows them.
    """
    losses = []
    for root, _, files in os.walk(work_dir):
        if 'scalars.json' in files and root.endswith('vis_data'):
            with open(osp.join(root, 'scalars.json')) as f:
                for line in f:
                    rec = json.loads(line)
                    if key in rec and 'lr' in rec:
                        losses.append(float(rec[key]))
    return losses


def read_test_metrics(work_dir: str) -> Dict[str, float]:
    """The metrics of the last ``<timestamp>.json`` test summary under
    ``work_dir`` (mmengine's test log).

    Raises:
        RuntimeError: If there is none.
    """
    found = []
    for root, _, files in os.walk(work_dir):
        found += [
            osp.join(root, name) for name in files
            if name.endswith('.json') and name[:8].isdigit()
        ]
    if not found:
        raise RuntimeError(f'no test summary (<timestamp>.json) under '
                           f'{work_dir}')
    with open(max(found, key=osp.basename)) as f:
        return json.load(f)


def read_metric(work_dir: str, key: str) -> float:
    """``key`` of :func:`read_test_metrics`.

    Raises:
        RuntimeError: If the summary has no ``key``.
    """
    metrics = read_test_metrics(work_dir)
    if key not in metrics:
        raise RuntimeError(f'no {key!r} in the test summary under {work_dir}')
    return float(metrics[key])


def read_class_iou(work_dir: str) -> Dict[str, float]:
    """Per-class IoU (%), ``{class: IoU}`` in the dataset's class order,
    from a test run with :class:`~mmseg_ext.evaluation.ClassIoUMetric`.

    Raises:
        RuntimeError: If the summary holds no ``IoU.<class>`` entry.
    """
    table = class_iou(read_test_metrics(work_dir))
    if not table:
        raise RuntimeError(f'no per-class IoU (IoU.<class>) in the test '
                           f'summary under {work_dir}: test with '
                           'test_evaluator.type=ClassIoUMetric')
    return table


def class_iou(metrics: Dict[str, float]) -> Dict[str, float]:
    """``{class: IoU}`` from a test summary's ``IoU.<class>`` entries.

    Rounded to the metric's 2 decimals again: mmengine's message hub keeps
    test scalars as float32 (50.34 comes back as 50.34000015258789).
    """
    return {
        key[len('IoU.'):]: round(float(value), 2)
        for key, value in metrics.items() if key.startswith('IoU.')
    }


def nanmean(values: Iterable[float]) -> float:
    """Mean of ``values`` without NaNs (``nan`` if none is left)."""
    values = [v for v in values if not math.isnan(v)]
    return sum(values) / len(values) if values else float('nan')
