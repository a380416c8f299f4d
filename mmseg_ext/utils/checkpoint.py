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

The names it allows are fixed by code, never by a file: the four built-ins
and those registered through ``HistoryBuffer.register_statistics``.
mmengine's ``HistoryBuffer.__setstate__`` merges a pickled
``statistics_methods`` dict into the class-level ``_statistics_methods``, so
a crafted checkpoint could otherwise first register e.g. ``__subclasses__``
or ``__dict__`` (making them reachable through ``getattr``) or re-bind
``mean`` for the rest of the process; loaded states may only repeat the
entries code registered, other entries are dropped with a warning.

Older torch (2.1 ... 2.5) loads with ``weights_only=False`` by default and
mmengine's checkpoints load there as they are: nothing is registered
(:data:`TORCH_LOADS_WEIGHTS_ONLY` is False; torch < 2.4 has no
``add_safe_globals`` at all).

The same module checks a checkpoint *file* before anything is loaded from it
(:func:`check_checkpoint_file`: missing, empty, truncated) and the structure
of what it holds (:func:`check_checkpoint_structure`), and compares a
``state_dict`` with a model's (:func:`state_dict_mismatch`): the test entry,
the model builder (deploy, benchmark) and the resume check share them.
"""
import os.path as osp
import pickle
import warnings
import zipfile
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy as np
import torch

_REGISTERED = False
_BUILTIN_STATISTICS = ('min', 'max', 'current', 'mean')
# name -> function of every statistics method code registered (never a file)
_CODE_STATISTICS: Dict[str, Callable] = {}


def code_registered_statistics() -> Dict[str, Callable]:
    """The statistics methods a checkpoint may name: ``{name: function}``.

    The four built-ins, what was in ``HistoryBuffer._statistics_methods``
    when :func:`register_checkpoint_safe_globals` first ran (before this
    package loaded any checkpoint) and what code registered since through
    ``HistoryBuffer.register_statistics``.
    """
    from mmengine.logging import HistoryBuffer
    fixed = {
        name: getattr(HistoryBuffer, name)
        for name in _BUILTIN_STATISTICS
    }
    fixed.update(_CODE_STATISTICS)
    return fixed


def _guard_history_buffer() -> None:
    """Record code registrations; keep loaded states from adding names."""
    from mmengine.logging import HistoryBuffer
    for name, method in HistoryBuffer._statistics_methods.items():
        _CODE_STATISTICS.setdefault(name, method)
    register = HistoryBuffer.register_statistics.__func__
    setstate = HistoryBuffer.__setstate__

    def register_statistics(cls, method: Callable) -> Callable:
        method = register(cls, method)
        _CODE_STATISTICS[method.__name__] = method
        return method

    def __setstate__(self, state: dict) -> None:
        fixed = code_registered_statistics()
        methods = state.get('statistics_methods', {})
        kept = {
            name: fn
            for name, fn in methods.items()
            if isinstance(name, str) and fixed.get(name) is fn
        }
        if len(kept) != len(methods):
            dropped = sorted(map(repr, set(methods) - set(kept)))
            warnings.warn(
                'HistoryBuffer state: statistics methods not registered by '
                f'code ignored: {", ".join(dropped)}', RuntimeWarning)
        setstate(self, dict(state, statistics_methods=kept))

    register_statistics.__doc__ = register.__doc__
    HistoryBuffer.register_statistics = classmethod(register_statistics)
    HistoryBuffer.__setstate__ = __setstate__


#: torch >= 2.6: ``torch.load`` defaults to ``weights_only=True``.
TORCH_LOADS_WEIGHTS_ONLY = tuple(
    int(v) for v in torch.__version__.split('+')[0].split('.')[:2]) >= (2, 6)


def history_buffer_getattr(obj: Any, name: str) -> Callable:
    """``getattr`` as a checkpoint may use it: HistoryBuffer statistics only.

    Args:
        obj: :class:`mmengine.logging.HistoryBuffer` or an instance of it.
        name (str): ``min``, ``max``, ``current``, ``mean`` or a method
            code registered through ``HistoryBuffer.register_statistics``
            (:func:`code_registered_statistics`), not one a loaded state
            added to ``HistoryBuffer._statistics_methods``.

    Returns:
        ``obj.<name>`` (the function, or the bound method of an instance).

    Raises:
        pickle.UnpicklingError: For any other object or attribute.
    """
    from mmengine.logging import HistoryBuffer
    is_buffer = obj is HistoryBuffer or isinstance(obj, HistoryBuffer)
    if is_buffer and isinstance(name, str) and \
            name in code_registered_statistics():
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
        _guard_history_buffer()
        torch.serialization.add_safe_globals(checkpoint_safe_globals())
        _REGISTERED = True
    return True


class CheckpointMismatch:
    """What keeps a checkpoint's ``state_dict`` from loading strictly.

    Attributes:
        missing (list[str]): Model keys the checkpoint lacks (BN
            ``num_batches_tracked`` counters excepted, as mmengine does).
        unexpected (list[str]): Checkpoint keys the model lacks.
        mismatched (list[tuple[str, tuple, tuple]]): ``(key, checkpoint
            shape, model shape)`` of tensors present in both.
    """

    def __init__(self, missing, unexpected, mismatched) -> None:
        self.missing, self.unexpected = missing, unexpected
        self.mismatched = mismatched

    def __bool__(self) -> bool:
        return bool(self.missing or self.unexpected or self.mismatched)

    def describe(self, first: int = 5) -> str:
        """Counts and the first ``first`` names (shapes for mis-shaped)."""

        def head(items):
            more = len(items) - first
            return ', '.join(
                items[:first]) + (f', ... ({more} more)' if more > 0 else '')

        parts = []
        if self.missing:
            parts.append(f'{len(self.missing)} missing key(s) (in the model, '
                         f'not in the checkpoint): {head(self.missing)}')
        if self.unexpected:
            parts.append(f'{len(self.unexpected)} unexpected key(s) (in the '
                         'checkpoint, not in the model): '
                         f'{head(self.unexpected)}')
        if self.mismatched:
            shapes = [
                f'{k} checkpoint {tuple(c)} vs model {tuple(m)}'
                for k, c, m in self.mismatched
            ]
            parts.append(f'{len(self.mismatched)} key(s) with mismatched '
                         f'shapes: {head(shapes)}')
        return '; '.join(parts)


def state_dict_mismatch(model_state: dict,
                        ckpt_state: dict) -> CheckpointMismatch:
    """Compare a model's ``state_dict()`` with a checkpoint's, key by key.

    Args:
        model_state (dict): ``{key: Tensor}`` of the model to load into.
        ckpt_state (dict): ``{key: Tensor}`` from the checkpoint, with
            mmengine's ``module.`` prefix already stripped.

    Returns:
        CheckpointMismatch: Falsy when the checkpoint loads strictly.
    """
    missing = [
        k for k in model_state
        if k not in ckpt_state and not k.endswith('num_batches_tracked')
    ]
    unexpected = [k for k in ckpt_state if k not in model_state]
    mismatched = []
    for k, ref in model_state.items():
        val = ckpt_state.get(k)
        if isinstance(val, torch.Tensor) and isinstance(ref, torch.Tensor) \
                and val.shape != ref.shape:
            mismatched.append((k, tuple(val.shape), tuple(ref.shape)))
    return CheckpointMismatch(missing, unexpected, mismatched)


#: First bytes of a torch >= 1.6 checkpoint (a zip archive).
ZIP_MAGIC = b'PK\x03\x04'


def check_checkpoint_file(path: str) -> None:
    """Refuse a local checkpoint file that cannot be a whole checkpoint.

    A torch >= 1.6 checkpoint is a zip archive whose central directory is
    written last, so a file cut short (a killed copy or save, a full disk)
    lacks it; only that directory is read here, not the tensors.

    Args:
        path (str): A local file.

    Raises:
        FileNotFoundError: If ``path`` is not a file.
        ValueError: If it is empty, or a zip archive without its central
            directory (truncated); the message names the file and its size.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint not found: {path}')
    size = osp.getsize(path)
    if size == 0:
        raise ValueError(
            f'checkpoint {path} is empty (0 bytes): an interrupted save or '
            'copy left it; use a complete checkpoint')
    with open(path, 'rb') as f:
        head = f.read(len(ZIP_MAGIC))
    if head == ZIP_MAGIC:
        try:
            with zipfile.ZipFile(path):
                pass
        except (zipfile.BadZipFile, OSError) as err:
            raise ValueError(
                f'checkpoint {path} is truncated or damaged ({size} bytes; '
                f'{err}): an interrupted save or copy left it; use a '
                'complete checkpoint') from err


def is_complete_checkpoint(path: str) -> bool:
    """True if :func:`check_checkpoint_file` accepts ``path``."""
    try:
        check_checkpoint_file(path)
    except (OSError, ValueError):
        return False
    return True


def load_checkpoint_file(path: str, loader: Optional[Callable] = None):
    """Check ``path`` (:func:`check_checkpoint_file`), then load it.

    Args:
        path (str): A local checkpoint file.
        loader (callable, optional): ``loader(path)`` reads it; default
            ``torch.load(path, map_location='cpu')`` (``weights_only`` as
            torch defaults).

    Returns:
        What the file holds.

    Raises:
        FileNotFoundError, ValueError: As :func:`check_checkpoint_file`; a
            file torch cannot read (EOFError, a damaged archive) raises
            ValueError naming it. ``weights_only`` refusals
            (``pickle.UnpicklingError``) pass through unchanged.
    """
    check_checkpoint_file(path)
    if loader is None:
        loader = lambda p: torch.load(p, map_location='cpu')  # noqa: E731
    try:
        return loader(path)
    except pickle.UnpicklingError:
        raise
    except (EOFError, RuntimeError, zipfile.BadZipFile) as err:
        raise ValueError(f'checkpoint {path} cannot be read ({err}): '
                         'truncated, damaged or not a checkpoint') from err


def _type_name(value) -> str:
    return type(value).__name__


def check_checkpoint_structure(checkpoint,
                               path: str,
                               resume: bool = False) -> None:
    """Refuse a loaded checkpoint whose entries do not have the types an
    mmengine Runner checkpoint has, naming what was refused.

    Without this, crafted files fail deep inside mmengine with messages that
    name neither file nor entry (``'tuple' object has no attribute 'get'``).

    Args:
        checkpoint: What the file held.
        path (str): The file, for the message.
        resume (bool): Also check what ``--resume`` reads: ``meta`` (with
            integer ``epoch`` and ``iter``), ``message_hub``, ``optimizer``,
            ``param_schedulers`` and ``random_state``.

    Raises:
        ValueError: Naming ``path``, the entry and the types found/expected.
    """

    def refuse(what: str, expected: str, value) -> None:
        raise ValueError(
            f'checkpoint {path} refused: {what} is a {_type_name(value)}, '
            f'expected {expected} (not a checkpoint written by an mmengine '
            'Runner, or a damaged one)')

    if not isinstance(checkpoint, dict):
        refuse('the file\'s content', 'a dict of state_dict, meta, ...',
               checkpoint)
    meta = checkpoint.get('meta')
    if meta is not None and not isinstance(meta, dict):
        refuse("'meta'", 'a dict', meta)
    state = checkpoint.get('state_dict')
    if state is not None and not isinstance(state, dict):
        refuse("'state_dict'", 'a dict of tensors', state)
    if not resume:
        return
    if meta is None:
        refuse("'meta'", 'a dict with epoch and iter', meta)
    for key in ('epoch', 'iter'):
        if not isinstance(meta.get(key), int):
            refuse(f"meta['{key}']", 'an int', meta.get(key))
    for key, types, expected in (
        ('state_dict', dict, 'a dict of tensors'),
        ('message_hub', dict, 'a dict'),
        ('optimizer', (dict, type(None)), 'a dict'),
        ('param_schedulers', (list, dict, type(None)), 'a list or dict'),
    ):
        if not isinstance(checkpoint.get(key), types):
            refuse(f"'{key}'", expected, checkpoint.get(key))
    hub = checkpoint['message_hub']
    for key in ('log_scalars', 'runtime_info', 'resumed_keys'):
        if not isinstance(hub.get(key), dict):
            refuse(f"message_hub['{key}']", 'a dict', hub.get(key))
    states = checkpoint.get('random_state')
    for i, state in enumerate(
            states if isinstance(states, (list, tuple)) else [states]):
        if state is not None and not isinstance(state, dict):
            refuse(f'random_state[{i}]', 'a dict of generator states', state)
