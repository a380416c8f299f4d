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
"""
import contextlib
import functools
import sys
from typing import Iterator

import torch.nn.functional as F
from mmseg.models.utils import wrappers

from . import pooling


@functools.wraps(wrappers.resize)
def _resize_quiet(*args, **kwargs):
    kwargs['warning'] = False
    return _ORIGINAL_RESIZE(*args, **kwargs)


_ORIGINAL_RESIZE = wrappers.resize


@contextlib.contextmanager
def export_patches() -> Iterator[None]:
    """Swap mmseg's ``resize`` for its ``warning=False`` form in every
    loaded module that holds it and the adaptive poolings of
    ``torch.nn.functional`` for :mod:`.pooling`'s; restore all on exit."""
    functional = dict(
        adaptive_avg_pool2d=F.adaptive_avg_pool2d,
        adaptive_max_pool2d=F.adaptive_max_pool2d)
    F.adaptive_avg_pool2d = pooling.adaptive_avg_pool2d
    F.adaptive_max_pool2d = pooling.adaptive_max_pool2d
    swapped = []
    for module in list(sys.modules.values()):
        if getattr(module, 'resize', None) is _ORIGINAL_RESIZE:
            swapped.append(module)
            module.resize = _resize_quiet
    try:
        yield
    finally:
        for module in swapped:
            module.resize = _ORIGINAL_RESIZE
        for name, function in functional.items():
            setattr(F, name, function)
