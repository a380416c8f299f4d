"""Let mmengine's own checkpoints load under torch's ``weights_only=True``.

Since torch 2.6 ``torch.load`` defaults to ``weights_only=True``; mmengine
0.10.7 calls it without the argument (``mmengine/runner/checkpoint.py``), so a
checkpoint the Runner itself wrote fails to load (mmengine issue #1655; fixed
only on its unreleased main). What such a checkpoint pickles besides tensors,
read off one written by ``mim train`` here:

* ``message_hub.log_scalars``: :class:`mmengine.logging.HistoryBuffer`, whose
  state holds numpy arrays (``numpy._core.multiarray._reconstruct``,
  ``numpy.ndarray``, ``numpy.dtype`` building ``Float64DType`` and
  ``Int64DType`` instances), numpy scalars
  (``numpy._core.multiarray.scalar``) and its statistics methods ``min``,
  ``max``, ``current``, ``mean`` as functions of the class, pickled as
  ``getattr(HistoryBuffer, 'min')``;
* ``message_hub.runtime_info``: numpy float64 scalars.

We allow-list exactly these. ``getattr`` is never allowed as such (it would let
a crafted file reach any attribute of any allowed object, i.e. run code): the
checkpoint's reference to it resolves to :func:`history_buffer_getattr`, which
only returns a registered statistics method of a ``HistoryBuffer`` and raises
otherwise. ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` is neither needed nor set.

Older torch (2.1 ... 2.5) loads with ``weights_only=False`` by default and
mmengine's checkpoints load there as they are: nothing is registered
(:data:`TORCH_LOADS_WEIGHTS_ONLY` is False; torch < 2.4 has no
``add_safe_globals`` at all).
"""
import pickle
from typing import Any, Callable, List, Tuple, Union

import numpy as np
import torch

_REGISTERED = False
#: torch >= 2.6: ``torch.load`` defaults to ``weights_only=True``.
TORCH_LOADS_WEIGHTS_ONLY = tuple(
    int(v) for v in torch.__version__.split('+')[0].split('.')[:2]) >= (2, 6)
_BUILTIN_STATISTICS = frozenset(('min', 'max', 'current', 'mean'))


def history_buffer_getattr(obj: Any, name: str) -> Callable:
    """``getattr`` as a checkpoint may use it: HistoryBuffer statistics only.

    Args:
        obj: :class:`mmengine.logging.HistoryBuffer` or an instance of it.
        name (str): A method in ``HistoryBuffer._statistics_methods``
            (``min``, ``max``, ``current``, ``mean`` and user-registered ones).

    Returns:
        ``obj.<name>`` (the function, or the bound method of an instance).

    Raises:
        pickle.UnpicklingError: For any other object or attribute.
    """
    from mmengine.logging import HistoryBuffer
    is_buffer = obj is HistoryBuffer or isinstance(obj, HistoryBuffer)
    # the built-in four are only added to the class dict by the first
    # HistoryBuffer() call, which need not have happened in this process
    allowed = _BUILTIN_STATISTICS | set(HistoryBuffer._statistics_methods)
    if is_buffer and isinstance(name, str) and name in allowed:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'weights_only load refused getattr({type(obj).__name__}, {name!r}): '
        'mmseg_ext only allows the statistics methods of mmengine\'s '
        'HistoryBuffer. Load the file with weights_only=False only if you '
        'trust its source.')


def checkpoint_safe_globals() -> List[Union[Callable, Tuple[Callable, str]]]:
    """The exact globals an mmengine 0.10.7 checkpoint needs beyond tensors."""
    from mmengine.logging import HistoryBuffer
    multiarray = (
        np._core.multiarray if hasattr(np, '_core') else np.core.multiarray)
    return [
        HistoryBuffer,
        np.ndarray,
        np.dtype,
        # numpy 2 pickles numpy._core.*, checkpoints from numpy 1 numpy.core.*
        (multiarray._reconstruct, 'numpy._core.multiarray._reconstruct'),
        (multiarray._reconstruct, 'numpy.core.multiarray._reconstruct'),
        (multiarray.scalar, 'numpy._core.multiarray.scalar'),
        (multiarray.scalar, 'numpy.core.multiarray.scalar'),
        # unpickling np.dtype('f8') / ('i8') builds instances of these
        # classes: HistoryBuffer holds float64 values and int64 counts, the
        # runtime info float64 scalars
        type(np.dtype(np.float64)),
        type(np.dtype(np.int64)),
        # the pickle names getattr by its Python 2 and 3 module names
        (history_buffer_getattr, '__builtin__.getattr'),
        (history_buffer_getattr, 'builtins.getattr'),
    ]


def register_checkpoint_safe_globals() -> bool:
    """Add :func:`checkpoint_safe_globals` to torch's allow-list (idempotent).

    Called on ``import mmseg_ext``, i.e. by every config's ``custom_imports``,
    so ``mim train --resume`` and ``mim test`` load Runner checkpoints.

    Returns:
        bool: True if the allow-list holds them (torch >= 2.6), False on an
        older torch, which does not load with ``weights_only=True`` by default
        and needs nothing.
    """
    global _REGISTERED
    if not TORCH_LOADS_WEIGHTS_ONLY:
        return False
    if not _REGISTERED:
        torch.serialization.add_safe_globals(checkpoint_safe_globals())
        _REGISTERED = True
    return True
