"""Resume from the right checkpoint, and only if it fits the config.

Two faults of mmengine 0.10.7's ``--resume`` this hook stops:

* **Another config.** ``Runner.resume`` loads the weights with
  ``strict=False`` (about a hundred size-mismatch warnings for an SFNet-R18
  checkpoint under the R50 config) and then fails inside torch's optimizer
  (``loaded state dict contains a parameter group that doesn't match the
  size of optimizer's group``), naming neither file nor cause. Here the
  checkpoint's structure, ``state_dict`` keys and shapes and optimizer
  parameter groups are compared with the built model and optimizer in
  ``after_load_checkpoint``, which mmengine calls before any state is
  loaded into them; a mismatch raises, naming the checkpoint, the config
  and the first mismatched keys and shapes.
* **An empty or dangling ``last_checkpoint``.** Auto-resume (``--resume``
  without a path) reads ``<work_dir>/last_checkpoint``
  (``find_latest_checkpoint``); an empty file gives "Auto resumed from the
  latest checkpoint ." and ``FileNotFoundError:  can not be found.``. Here,
  in ``before_run`` (before ``load_or_resume``), a ``last_checkpoint`` that
  is empty, missing while checkpoints exist, or names a missing or
  incomplete file falls back to the newest complete ``iter_*.pth`` /
  ``epoch_*.pth`` in ``work_dir`` with a warning, or fails naming the file
  when there is none.

Under torchrun's elastic agent (``--max-restarts``), a restarted worker
group (``TORCHELASTIC_RESTART_COUNT`` > 0) resumes automatically, as if
``--resume`` had been given: the restart continues from the last complete
checkpoint with no user action.
"""
import glob
import logging
import os
import os.path as osp
import re
from typing import List, Optional

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS

from ...utils.checkpoint import (check_checkpoint_file,
                                 check_checkpoint_structure,
                                 is_complete_checkpoint, state_dict_mismatch)

LAST_CHECKPOINT = 'last_checkpoint'
_CKPT_RE = re.compile(r'(iter|epoch)_(\d+)\.pth')


def complete_checkpoints(work_dir: str) -> List[str]:
    """The complete ``iter_*.pth`` / ``epoch_*.pth`` in ``work_dir``,
    newest first (modification time, then number)."""
    found = []
    for path in glob.glob(osp.join(glob.escape(work_dir), '*_*.pth')):
        match = _CKPT_RE.fullmatch(osp.basename(path))
        if match and is_complete_checkpoint(path):
            found.append((osp.getmtime(path), int(match.group(2)), path))
    return [path for _, _, path in sorted(found, reverse=True)]


def resolve_auto_resume(work_dir: str) -> Optional[str]:
    """The checkpoint auto-resume should continue from, or None (fresh
    start: no ``last_checkpoint`` and no checkpoint in ``work_dir``).

    Raises:
        FileNotFoundError: If ``last_checkpoint`` is empty or dangling and
            ``work_dir`` holds no complete checkpoint; names the file.
    """
    last = osp.join(work_dir, LAST_CHECKPOINT)
    named = None
    if osp.isfile(last):
        with open(last) as f:
            named = f.read().strip()
        if named and is_complete_checkpoint(named):
            return named
        problem = (f'{last} names {named}, which is missing or incomplete'
                   if named else f'{last} is empty')
    else:
        problem = f'{last} does not exist'
    candidates = complete_checkpoints(work_dir)
    if not candidates:
        if named is None:
            return None  # a fresh run
        raise FileNotFoundError(
            f'cannot resume: {problem}, and {work_dir} holds no complete '
            'iter_*.pth or epoch_*.pth. Give a checkpoint with --resume '
            'PATH, or start without --resume')
    print_log(
        f'{problem}: resuming from {candidates[0]}, the newest complete '
        f'checkpoint in {work_dir}', 'current', logging.WARNING)
    return candidates[0]


@HOOKS.register_module()
class ResumeCheckHook(Hook):
    """Choose the checkpoint to resume and refuse one of another config.

    Args:
        resume_on_restart (bool): Resume automatically in a worker group
            that torchrun's elastic agent restarted. Default: True.
    """

    priority = 'VERY_HIGH'  # before RandomStateHook reads the checkpoint

    def __init__(self, resume_on_restart: bool = True) -> None:
        self.resume_on_restart = resume_on_restart
        self._source: Optional[str] = None

    def before_run(self, runner) -> None:
        restarts = int(os.environ.get('TORCHELASTIC_RESTART_COUNT', '0'))
        if self.resume_on_restart and restarts > 0 and not runner._resume:
            runner._resume = True
            print_log(
                f'restart {restarts} of an elastic worker group: resuming '
                'from the last complete checkpoint', 'current',
                logging.WARNING)
        if not runner._resume or runner._has_loaded:
            return
        if runner._load_from is None:
            runner._load_from = resolve_auto_resume(runner.work_dir)
            if runner._load_from is not None:
                print_log(f'auto-resume from {runner._load_from}', 'current')
        elif not str(runner._load_from).startswith(('http', 's3:')):
            check_checkpoint_file(runner._load_from)
        self._source = runner._load_from

    def after_load_checkpoint(self, runner, checkpoint) -> None:
        resume = bool(getattr(runner, '_resume', False))
        path = str(self._source or runner._load_from)
        check_checkpoint_structure(checkpoint, path, resume=resume)
        if not resume:
            return
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        state = {
            re.sub(r'^module\.', '', k): v
            for k, v in checkpoint['state_dict'].items()
        }
        problems = []
        mismatch = state_dict_mismatch(model.state_dict(), state)
        if mismatch:
            problems.append(mismatch.describe())
        optimizer = getattr(runner.optim_wrapper, 'optimizer', None)
        saved = checkpoint.get('optimizer')
        if optimizer is not None and isinstance(saved, dict) and \
                isinstance(saved.get('param_groups'), list):
            ours = [len(g['params']) for g in optimizer.param_groups]
            theirs = [
                len(g.get('params', [])) if isinstance(g, dict) else None
                for g in saved['param_groups']
            ]
            if ours != theirs:
                problems.append(
                    'optimizer parameter groups of sizes '
                    f'{theirs} in the checkpoint vs {ours} for the model')
        if problems:
            config = getattr(runner.cfg, 'filename', None) or '(config)'
            raise RuntimeError(
                f'cannot resume from checkpoint {path} with config {config}: '
                f'it was written for another model ({"; ".join(problems)}). '
                'Nothing was loaded: resume with the config the checkpoint '
                'was trained with, or start a new run (load_from for '
                'fine-tuning).')
