"""Export-time shims, active only inside :func:`export_patches`.

``torch.nn.functional.adaptive_avg_pool2d`` / ``adaptive_max_pool2d`` (what
``nn.AdaptiveAvgPool2d``, mmseg's PPM and our PointFlow module call) become
:mod:`.pooling`'s exporter-friendly forms, which compute the same windows
from the (possibly symbolic) input size.

``mmseg.models.utils.resize`` turns the input and output sizes into Python
ints for its ``align_corners`` alignment warning; under ``torch.export``
that fixes height and width to the example's. While exporting, every module
that imported it sees the same function with ``warning=False`` (the warning
is advice at build time, the computation is ``F.interpolate`` either way).

``mmseg.models.decode_heads.PointHead.get_points_test`` (mmseg 1.2.2, the
subdivision points of PointRend's inference) takes the column of each top-k
index as ``point_indices % width``; the ONNX translation of ``%``
(onnxscript 0.7.2 ``aten_remainder_scalar``) calls ``int()`` on the divisor
and fails for a symbolic width (a dynamic export). While exporting it is
:func:`~mmseg_ext.models.utils.point_flow_ops.topk_grid_points` on the
uncertainty map: the same top-k, the same cell centres
``((x + 0.5) / w, (y + 0.5) / h)`` in the same float32 arithmetic, and,
with :mod:`.rewrites`' forms of its helpers, the column computed as
``index - (index // w) * w`` (bit-exact for integers).

Our own model code's export forms are :mod:`.rewrites`';
:func:`export_patches` swaps them in too.

mmseg's ``Upsample`` (mmseg 1.2.2 ``models/utils/wrappers.py``: HRNet's
fuse layers, PointRend's FPN head) computes its output size as
``int(size * scale)``, through a float, which ``torch.export`` can only
fix to the example's (a guard the ONNX graph does not keep: the dynamic
export was then wrong at other sizes). While exporting it gets
``size = input size * scale`` instead: the same output size, and the same
sampling, since PyTorch's source coordinate scale ``1 / scale`` equals
``in / out`` for an integer scale.
"""
import contextlib
import functools
import sys
from typing import Iterator

import torch.nn.functional as F
from mmseg.models.decode_heads.point_head import PointHead
from mmseg.models.utils import wrappers

from mmseg_ext.models.utils.point_flow_ops import topk_grid_points
from . import pooling
from .rewrites import model_rewrites


@functools.wraps(wrappers.resize)
def _resize_quiet(*args, **kwargs):
    kwargs['warning'] = False
    return _ORIGINAL_RESIZE(*args, **kwargs)


_ORIGINAL_RESIZE = wrappers.resize


def _upsample_forward(self, x):
    """mmseg's ``Upsample.forward`` with an integer scale as an integer
    product (the same size)."""
    if not self.size and float(self.scale_factor).is_integer():
        size = [t * int(self.scale_factor) for t in x.shape[-2:]]
        return _ORIGINAL_RESIZE(
            x, size, None, self.mode, self.align_corners, warning=False)
    return _ORIGINAL_UPSAMPLE_FORWARD(self, x)


_ORIGINAL_UPSAMPLE_FORWARD = wrappers.Upsample.forward


def _get_points_test(self, seg_logits, uncertainty_func, cfg):
    """``PointHead.get_points_test`` without ``%``: (N, P) int64 indices
    into ``H * W`` and their (N, P, 2) (x, y) centres in [0, 1]."""
    return topk_grid_points(
        uncertainty_func(seg_logits), cfg.subdivision_num_points)


@contextlib.contextmanager
def export_patches() -> Iterator[None]:
    """Swap mmseg's ``resize`` for its ``warning=False`` form in every
    loaded module that holds it, the adaptive poolings of
    ``torch.nn.functional`` for :mod:`.pooling`'s and
    ``PointHead.get_points_test`` for its form without ``%``, and our
    models' functions for their export forms (:func:`.model_rewrites`);
    restore all on exit."""
    functional = dict(
        adaptive_avg_pool2d=F.adaptive_avg_pool2d,
        adaptive_max_pool2d=F.adaptive_max_pool2d)
    F.adaptive_avg_pool2d = pooling.adaptive_avg_pool2d
    F.adaptive_max_pool2d = pooling.adaptive_max_pool2d
    wrappers.Upsample.forward = _upsample_forward
    get_points_test = PointHead.get_points_test
    PointHead.get_points_test = _get_points_test
    swapped = []
    for module in list(sys.modules.values()):
        # vars(), not getattr(): a module-level __getattr__ (numpy.core's)
        # would warn for every module looked at
        if vars(module).get('resize') is _ORIGINAL_RESIZE:
            swapped.append(module)
            module.resize = _resize_quiet
    try:
        with model_rewrites():
            yield
    finally:
        PointHead.get_points_test = get_points_test
        wrappers.Upsample.forward = _ORIGINAL_UPSAMPLE_FORWARD
        for module in swapped:
            module.resize = _ORIGINAL_RESIZE
        for name, function in functional.items():
            setattr(F, name, function)
