"""Cityscapes metric that runs on numpy 2.4+ (cityscapesscripts uses
``np.in1d``)."""
import contextlib
import warnings
from typing import Dict, Iterator

import numpy as np
from mmseg.evaluation.metrics import CityscapesMetric
from mmseg.registry import METRICS


@contextlib.contextmanager
def numpy_in1d_compat() -> Iterator[bool]:
    """Provide ``np.in1d`` for the duration of the block if numpy lacks it.

    cityscapesscripts 2.3.0 (``evalPixelLevelSemanticLabeling.py``,
    ``evalInstanceLevelSemanticLabeling.py``) calls ``np.in1d``, which numpy
    deprecated in 2.0 and removed in 2.4. Inside the block ``np.in1d`` is
    ``np.isin(...).ravel()``, the documented replacement with the same result;
    it is removed again on exit, so nothing else sees a patched numpy. A
    warning says so each time the stand-in is installed.

    Yields:
        bool: True if the stand-in was installed.
    """
    if hasattr(np, 'in1d'):
        yield False
        return

    def in1d(ar1, ar2, assume_unique=False, invert=False, **kwargs):
        return np.isin(
            ar1, ar2, assume_unique=assume_unique, invert=invert,
            **kwargs).ravel()

    warnings.warn(
        f'numpy {np.__version__} has no np.in1d, which cityscapesscripts '
        'calls: using np.isin(...).ravel() for this evaluation',
        RuntimeWarning,
        stacklevel=3)
    np.in1d = in1d
    try:
        yield True
    finally:
        del np.in1d


@METRICS.register_module()
class CityscapesEvalMetric(CityscapesMetric):
    """mmseg's :class:`CityscapesMetric` made to run on numpy >= 2.4.

    Same arguments and outputs as ``mmseg.evaluation.CityscapesMetric``
    (labelIds PNGs named ``<image basename>.png`` in ``output_dir``, trainId
    to labelId through ``cityscapesscripts.helpers.labels``; with
    ``format_only=True`` nothing is evaluated, for the test server). The
    evaluation itself runs inside :func:`numpy_in1d_compat`.
    """

    def compute_metrics(self, results: list) -> Dict[str, float]:
        if self.format_only:  # writes files only, cityscapesscripts unused
            return super().compute_metrics(results)
        with numpy_in1d_compat():
            return super().compute_metrics(results)
