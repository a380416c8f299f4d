"""Checkpoints appear under their name only once completely written.

mmengine 0.10.7's ``save_checkpoint`` (``mmengine/runner/checkpoint.py``)
serialises into memory and hands the bytes to the file backend's ``put``;
``LocalBackend.put`` opens ``iter_N.pth`` and writes into it, so a run killed
mid-save leaves a truncated ``iter_N.pth`` that looks like a checkpoint.
:class:`AtomicLocalBackend` writes through
:func:`mmseg_ext.utils.atomic_io.atomic_write_bytes` instead (a hidden
``.iter_N.pth.<random>.part`` in the same folder, renamed when whole), and
:class:`AtomicCheckpointHook` points every local ``CheckpointHook`` at it.
``last_checkpoint`` is written by ``CheckpointHook`` after the save, so a
killed save leaves it naming the previous checkpoint.

``CheckpointHook`` writes ``last_checkpoint`` itself, in place
(``open(..., 'w')`` in ``_save_checkpoint_with_step``): a kill or a full disk
between the truncation and the write leaves it empty, and ``--resume`` then
fails with ``FileNotFoundError:  can not be found.``. The hook hands that
method a view of the runner whose ``work_dir`` is a scratch folder (its
in-place write lands there) and then writes ``<work_dir>/last_checkpoint``
itself through :func:`~mmseg_ext.utils.atomic_io.atomic_file` (written,
synced, renamed, folder synced), like the checkpoints.
"""
import glob
import os
import os.path as osp
import shutil
import tempfile
from pathlib import Path
from typing import Union

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend, register_backend
from mmengine.fileio.io import _parse_uri_prefix
from mmengine.hooks import CheckpointHook, Hook
from mmseg.registry import HOOKS

from mmseg_ext.utils.atomic_io import (TEMP_SUFFIX, atomic_file,
                                       atomic_write_bytes, temp_name_for)

BACKEND = 'atomic_local'
LAST_CHECKPOINT = 'last_checkpoint'


class AtomicLocalBackend(LocalBackend):
    """mmengine's ``LocalBackend`` whose writes are write-then-rename.

    Leftover temporary files of an earlier killed write to the same path
    are removed before writing.
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        filepath = str(filepath)
        pattern = osp.join(
            osp.dirname(osp.abspath(filepath)),
            glob.escape(temp_name_for(filepath)) + '*' + TEMP_SUFFIX)
        for stale in glob.glob(pattern):
            os.remove(stale)
        atomic_write_bytes(filepath, obj)

    def put_text(self,
                 obj: str,
                 filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        self.put(obj.encode(encoding), filepath)


register_backend(BACKEND, AtomicLocalBackend, force=True)


@HOOKS.register_module()
class AtomicCheckpointHook(Hook):
    """Make every ``CheckpointHook`` saving to a local folder write
    atomically (:class:`AtomicLocalBackend`).

    Runs before ``CheckpointHook.before_train`` (which builds its file
    backend from ``backend_args``); hooks with their own ``backend`` or
    ``file_client_args``, or an ``out_dir`` with a URI prefix (``s3://``),
    are left as they are. ``last_checkpoint`` (always local, in
    ``work_dir``) is written atomically for every ``CheckpointHook``.
    """

    priority = 'NORMAL'

    def __init__(self) -> None:
        self._scratch = None

    def before_train(self, runner) -> None:
        for hook in runner.hooks:
            if isinstance(hook, CheckpointHook) and \
                    '_save_checkpoint_with_step' not in vars(hook):
                hook._save_checkpoint_with_step = self._atomic_last(hook)
        for hook in runner.hooks:
            if not isinstance(hook, CheckpointHook) or \
                    hook.file_client_args is not None:
                continue
            args = dict(hook.backend_args or {})
            out_dir = str(hook.out_dir or runner.work_dir)
            if 'backend' in args or _parse_uri_prefix(out_dir):
                continue
            args['backend'] = BACKEND
            hook.backend_args = args

    def _atomic_last(self, hook):
        """``hook._save_checkpoint_with_step`` writing ``last_checkpoint``
        atomically."""
        save = hook._save_checkpoint_with_step  # the class's, bound

        def save_with_atomic_last(runner, step, meta):
            if self._scratch is None:
                self._scratch = tempfile.mkdtemp(prefix='mmseg_ext_last_ckpt_')
            save(_WorkDirView(runner, self._scratch), step, meta)
            if is_main_process():
                with atomic_file(
                        os.path.join(runner.work_dir, LAST_CHECKPOINT),
                        'w') as f:
                    f.write(hook.last_ckpt)

        return save_with_atomic_last

    def after_run(self, runner) -> None:
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None


class _WorkDirView:
    """``runner`` with another ``work_dir`` (everything else is the
    runner's own)."""

    def __init__(self, runner, work_dir: str) -> None:
        self.__dict__.update(_runner=runner, work_dir=work_dir)

    def __getattr__(self, name):
        return getattr(self._runner, name)
