"""Whether ``torch.export`` is tracing, on every supported torch (2.1-2.13).

``torch.compiler.is_exporting`` exists from torch 2.6 (pytorch/pytorch PR
#142425). Our ONNX export (:func:`mmseg_ext.deploy.export.export_onnx`)
relies on it to take the export forms of :mod:`.rewrites` only while
tracing, and also uses ``torch.export.Dim.AUTO`` and
``torch.onnx.export(dynamo=True)``, so it needs torch >= 2.6; on older
torch it refuses with :func:`onnx_export_unsupported`'s reason. The model
code itself (:mod:`mmseg_ext.models`) never asks.
"""
from typing import Optional

import torch

#: torch (major, minor) of the running torch.
TORCH_VERSION = tuple(
    int(v) for v in torch.__version__.split('+')[0].split('.')[:2])

#: ``torch.compiler.is_exporting`` where torch has it (>= 2.6), else None.
_torch_is_exporting = getattr(torch.compiler, 'is_exporting', None)


def is_exporting() -> bool:
    """``torch.compiler.is_exporting()``; ``False`` on torch < 2.6.

    Returns:
        bool: True while ``torch.export`` traces the calling code.
    """
    return _torch_is_exporting is not None and _torch_is_exporting()


def onnx_export_unsupported() -> Optional[str]:
    """Why this torch cannot run our ONNX export, or ``None`` if it can.

    Returns:
        str | None: The reason (the missing torch features), naming the
        running torch version; ``None`` on torch >= 2.6.
    """
    if TORCH_VERSION >= (2, 6):
        return None
    return (f'ONNX export needs torch >= 2.6 (torch.export.Dim.AUTO, '
            f'torch.onnx.export(dynamo=True), torch.compiler.is_exporting); '
            f'this is torch {torch.__version__}')
