"""Save the random number generators' states with each checkpoint.

mmengine 0.10.7 checkpoints hold the model, optimizer, schedulers and message
hub, not the RNG states: after ``--resume`` the dropout masks (and, with
``num_workers=0``, the random augmentations, which then draw from the main
process) differ from an uninterrupted run. :class:`RandomStateHook` stores
Python ``random``'s, numpy's, torch's CPU and (when available) CUDA state
under ``checkpoint['random_state']`` and puts them back when the run resumes.
"""
import logging
import random
from typing import Dict, List, Optional

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import print_log
from mmseg.registry import HOOKS

STATE_KEY = 'random_state'


def get_random_state() -> Dict:
    """This process's RNG states (Python, numpy, torch CPU, CUDA or None).

    Only tuples, ints, floats, strings and uint8 tensors, so the state loads
    under torch's ``weights_only=True``.
    """
    np_state = np.random.get_state(legacy=False)
    cuda = None
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        cuda = torch.cuda.get_rng_state()
    return dict(
        python=random.getstate(),
        numpy=dict(
            key=np_state['state']['key'].tolist(),
            pos=int(np_state['state']['pos']),
            has_gauss=int(np_state['has_gauss']),
            gauss=float(np_state['gauss'])),
        torch=torch.get_rng_state(),
        cuda=cuda)


def set_random_state(state: Dict) -> None:
    """Restore what :func:`get_random_state` returned."""
    version, internal, gauss = state['python']
    random.setstate((version, tuple(internal), gauss))
    npy = state['numpy']
    np.random.set_state(('MT19937', np.asarray(npy['key'], dtype=np.uint32),
                         npy['pos'], npy['has_gauss'], npy['gauss']))
    torch.set_rng_state(state['torch'].cpu())
    if state.get('cuda') is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state(state['cuda'].cpu())


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Bit-exact ``--resume``: the RNG states travel with the checkpoint."""

    priority = 'NORMAL'

    def __init__(self) -> None:
        self._gathered: Optional[List[Dict]] = None
        self._gathered_iter = -1
        self._pending: Optional[Dict] = None
        self._val_state: Optional[Dict] = None

    # saving
    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None) -> None:
        if get_world_size() > 1 and self._will_save(runner, by_epoch=False):
            self._gather(runner)

    def after_train_epoch(self, runner) -> None:
        if get_world_size() > 1 and self._will_save(runner, by_epoch=True):
            self._gather(runner)

    def prepare_save(self, runner) -> None:
        """Gather every rank's states for a save outside the periodic
        schedule (:class:`~mmseg_ext.engine.PreemptionHook`); every rank
        must call it."""
        if get_world_size() > 1:
            self._gather(runner)

    def _gather(self, runner) -> None:
        self._gathered = all_gather_object(get_random_state())
        self._gathered_iter = runner.iter

    def _will_save(self, runner, by_epoch: bool) -> bool:
        for hook in runner.hooks:
            if not isinstance(hook, CheckpointHook) or \
                    hook.by_epoch != by_epoch:
                continue
            if by_epoch:
                due = hook.every_n_epochs(runner, hook.interval,
                                          hook.save_begin)
                last = hook.is_last_train_epoch(runner)
            else:
                due = hook.every_n_train_iters(runner, hook.interval,
                                               hook.save_begin)
                last = hook.is_last_train_iter(runner)
            if due or (hook.save_last and last):
                return True
        return False

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        world_size = get_world_size()
        if world_size == 1:
            checkpoint[STATE_KEY] = get_random_state()
        elif self._gathered is not None and \
                self._gathered_iter == runner.iter:
            checkpoint[STATE_KEY] = self._gathered
        else:
            states = [None] * world_size
            states[get_rank()] = get_random_state()
            checkpoint[STATE_KEY] = states

    # loading
    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._pending = None
        if not getattr(runner, '_resume', False):
            return  # load_from (fine-tuning, testing): nothing to resume
        if not isinstance(checkpoint, dict):
            raise ValueError(
                f'the checkpoint to resume holds a {type(checkpoint).__name__}'
                ', not a dict: refused (not a checkpoint written by an '
                'mmengine Runner)')
        saved = checkpoint.get(STATE_KEY)
        world_size, rank = get_world_size(), get_rank()
        if saved is None:
            print_log(
                'the checkpoint holds no random states (written without '
                'RandomStateHook): dropout and random augmentations will '
                'differ from an uninterrupted run', 'current', logging.WARNING)
            return
        if isinstance(saved, dict):
            saved = [saved]
        if len(saved) != world_size or saved[rank] is None:
            print_log(
                f'the checkpoint holds random states for {len(saved)} '
                f'process(es), this run has {world_size}: random states '
                'not restored', 'current', logging.WARNING)
            return
        if not isinstance(saved[rank], dict):
            raise ValueError(
                f"the checkpoint's {STATE_KEY} for rank {rank} is a "
                f'{type(saved[rank]).__name__}, not a dict of generator '
                'states: refused')
        self._pending = saved[rank]

    def before_train(self, runner) -> None:
        if self._pending is None:
            return
        loop = runner.train_loop
        skip = getattr(loop, '_iter', 0)
        if skip > 0 and hasattr(loop, 'dataloader_iterator'):
            # IterBasedTrainLoop.run re-reads ``_iter`` batches before the
            # first new one; with num_workers=0 their augmentations draw from
            # this process: restore once they are read.
            loop.dataloader_iterator = _RestoreAfter(loop,
                                                     loop.dataloader_iterator,
                                                     skip, self._pending)
        else:
            set_random_state(self._pending)
        self._pending = None

    # validation does not move the training streams, so a resumed run (which
    # did not validate at the checkpoint's iteration) stays on them.
    def before_val(self, runner) -> None:
        self._val_state = get_random_state()

    def after_val(self, runner) -> None:
        if self._val_state is not None:
            set_random_state(self._val_state)
            self._val_state = None


class _RestoreAfter:
    """Iterator proxy: after ``skip`` batches, restore ``state`` and hand the
    loop its own iterator back."""

    def __init__(self, loop, inner, skip: int, state: Dict) -> None:
        self._loop, self._inner = loop, inner
        self._left, self._state = skip, state

    def __iter__(self):
        return self

    def __next__(self):
        if self._left == 0:
            set_random_state(self._state)
            self._loop.dataloader_iterator = self._inner
            return next(self._inner)
        self._left -= 1
        return next(self._inner)

    def __getattr__(self, name):
        return getattr(self._inner, name)
