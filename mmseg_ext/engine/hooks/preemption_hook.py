"""Save at the next iteration boundary on SIGTERM, then exit for a requeue.

Schedulers announce the end of a job with SIGTERM and a grace period: Slurm
on preemption or ``--signal=TERM@120`` before the time limit, Kubernetes and
cloud spot instances on reclaim, torchrun's agent when it shuts its workers
down. mmengine 0.10.7 installs no handler, so the process dies at once and
loses everything since the last periodic checkpoint.

:class:`PreemptionHook` only records the signal (a handler must not write
files: the main thread may be inside a save). After the current training
iteration (``after_train_iter``, after ``CheckpointHook``) the processes
agree that one of them was signalled (a one-element ``all_reduce``, max,
under DDP), save a checkpoint through the run's ``CheckpointHook`` (atomic
and with the RNG states, as the periodic ones; skipped if it has just saved
this iteration) and exit with :data:`PREEMPTED_EXIT_CODE` (75, sysexits'
``EX_TEMPFAIL``: "try again later"), which requeue scripts test for. The
requeued run with ``--resume`` continues bit-identically
(:class:`~mmseg_ext.engine.RandomStateHook`).

If no iteration boundary comes within ``grace_period`` seconds of the
signal (a long validation, a hung collective), the process exits with the
same code without saving: the last periodic checkpoint, complete by
construction (:class:`~mmseg_ext.engine.AtomicCheckpointHook`), is resumed.
Iteration-based loops only (every shipped config); under an epoch-based
``CheckpointHook`` a signalled run exits at the boundary without saving.
"""
import logging
import os
import signal
import sys
import threading
import time
from typing import Optional, Sequence

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import print_log
from mmseg.registry import HOOKS

#: Exit status of a run stopped by a signal (sysexits.h ``EX_TEMPFAIL``).
PREEMPTED_EXIT_CODE = 75


@HOOKS.register_module()
class PreemptionHook(Hook):
    """Checkpoint and exit (``exit_code``) after a termination signal.

    Args:
        grace_period (float): Seconds from the signal to the exit at the
            latest (keep it under the scheduler's: Slurm's ``@TIME`` of
            ``--signal``, torchrun's 30 s before it kills its workers).
            Default: 25.
        exit_code (int): Exit status after the save. Default: 75.
        signals (Sequence[str]): Signal names handled. Default:
            ``('SIGTERM',)``.

    Raises:
        ValueError: For a non-positive ``grace_period``, an ``exit_code``
            outside 1-255 or an unknown signal name.
    """

    priority = 'LOWEST'  # after CheckpointHook's own after_train_iter

    def __init__(
        self,
        grace_period: float = 25.0,
        exit_code: int = PREEMPTED_EXIT_CODE,
        signals: Sequence[str] = ('SIGTERM', )
    ) -> None:
        if not grace_period > 0:
            raise ValueError('PreemptionHook: grace_period must be > 0 '
                             f'seconds, got {grace_period!r}')
        if not (isinstance(exit_code, int) and 0 < exit_code < 256):
            raise ValueError('PreemptionHook: exit_code must be an int in '
                             f'1..255, got {exit_code!r}')
        unknown = [s for s in signals if not hasattr(signal, str(s))]
        if unknown:
            raise ValueError(f'PreemptionHook: unknown signal(s) {unknown}')
        self.grace_period = float(grace_period)
        self.exit_code = exit_code
        self.signals = [getattr(signal, s) for s in signals]
        self._received: Optional[int] = None
        self._previous = {}
        self._timer: Optional[threading.Timer] = None

    # signal handling
    def before_train(self, runner) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be set in the main thread
        for sig in self.signals:
            self._previous[sig] = signal.signal(sig, self._on_signal)

    def _on_signal(self, signum, frame) -> None:
        if self._received is not None:
            return
        self._received = signum
        self._timer = threading.Timer(self.grace_period, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def _expire(self) -> None:
        os.write(2,
                 (f'PreemptionHook: no iteration boundary within the grace '
                  f'period of {self.grace_period:g} s after signal '
                  f'{self._received}: exiting with {self.exit_code} without a '
                  'new checkpoint (the last complete one will be resumed)\n'
                  ).encode())
        os._exit(self.exit_code)

    def _restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def after_train(self, runner) -> None:
        self._restore()

    # the iteration boundary
    def _signalled_anywhere(self) -> bool:
        flag = torch.tensor([0 if self._received is None else 1])
        if get_world_size() > 1:
            all_reduce(flag, op='max')
        return bool(flag.item())

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None) -> None:
        if not self._signalled_anywhere():
            return
        start = time.monotonic()
        saved = self._save(runner)
        self._restore()
        print_log(
            f'stopped by a termination signal after iteration '
            f'{runner.iter + 1}: '
            f'{saved or "no checkpoint written (epoch-based)"}'
            f'{f" ({time.monotonic() - start:.1f} s)" if saved else ""}; '
            f'exiting with {self.exit_code}: resume with --resume', 'current',
            logging.WARNING)
        sys.stdout.flush()
        raise SystemExit(self.exit_code)

    def _save(self, runner) -> Optional[str]:
        """Save through the run's first iteration-based CheckpointHook;
        return the checkpoint's path (None if there is none)."""
        hook = next((h for h in runner.hooks
                     if isinstance(h, CheckpointHook) and not h.by_epoch),
                    None)
        if hook is None:
            return None
        name = hook.filename_tmpl.format(runner.iter + 1)
        path = hook.file_backend.join_path(hook.out_dir, name)
        if getattr(hook, 'last_ckpt', None) == path:
            return path  # CheckpointHook saved this iteration already
        for other in runner.hooks:  # e.g. RandomStateHook gathers states
            prepare = getattr(other, 'prepare_save', None)
            if callable(prepare):
                prepare(runner)
        hook._save_checkpoint(runner)
        return path
