"""``--cfg-options`` for the main job's short CPU runs.

Pipeline steps are addressed by the ``type`` of their transform, found in
the resolved config (:func:`transform_option`), never by a fixed position:
a base that gains a transform changes the index, not the meaning.
"""
import os.path as osp
from functools import lru_cache
from typing import List

from mmengine.config import Config


@lru_cache(maxsize=None)
def load_config(path: str) -> Config:
    """The resolved config at ``path`` (cached; do not modify it), read by
    :func:`mmseg_ext.apis.load_config`.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
    """
    from mmseg_ext import apis
    return apis.load_config(path)


def sample_root(data_root: str, name: str, expected: str) -> str:
    """``<data_root>/<name>``, a real-sample folder.

    Args:
        expected (str): Sub-folder that must exist, e.g. ``'train'``.

    Raises:
        FileNotFoundError: If ``<data_root>/<name>/<expected>`` is missing
            (the message says how to link the samples).
    """
    root = osp.join(data_root, name)
    if not osp.isdir(osp.join(root, expected)):
        raise FileNotFoundError(
            f'{name} sample not found at {root} (expected {expected}/ in '
            'it; link the samples with `bash tools/link_data.sh '
            '../shared/data`)')
    return root


def transform_option(cfg: Config, pipeline: str, transform: str, key: str,
                     value) -> str:
    """The ``--cfg-options`` item setting ``key`` of the ``transform`` step
    of the pipeline at the dotted path ``pipeline``.

    Example: ``transform_option(cfg, 'train_dataloader.dataset.pipeline',
    'RandomCrop', 'crop_size', '(128,256)')`` gives
    ``'train_dataloader.dataset.pipeline.3.crop_size=(128,256)'`` for
    mmseg's Cityscapes base.

    Raises:
        ValueError: If the pipeline does not hold exactly one step of type
            ``transform``.
    """
    steps = cfg
    for part in pipeline.split('.'):
        steps = steps[part]
    hits = [i for i, step in enumerate(steps) if step.get('type') == transform]
    if len(hits) != 1:
        types = [step.get('type') for step in steps]
        raise ValueError(
            f'{cfg.filename}: {pipeline} has {len(hits)} {transform!r} '
            f'steps ({types}); the short-run option {key} needs exactly one')
    return f'{pipeline}.{hits[0]}.{key}={value}'


def size(height: int, width: int) -> str:
    """``(height,width)`` as a ``--cfg-options`` tuple."""
    return f'({height},{width})'


def short_run_options(data_root: str, iters: int) -> List[str]:
    """``--cfg-options`` every stage's short CPU training run shares.

    ``data_root`` for the train/val/test dataloaders, no worker processes,
    ``iters`` iterations with one validation and one checkpoint at the end,
    a log line per iteration, the first ``param_scheduler`` entry ending
    at ``iters``, and seed 0 (mmengine draws a random seed otherwise, so the
    figures the main job prints would change from run to run). Stages add
    their pipeline sizes and data prefixes.
    """
    return [
        f'train_dataloader.dataset.data_root={data_root}',
        f'val_dataloader.dataset.data_root={data_root}',
        f'test_dataloader.dataset.data_root={data_root}',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        f'train_cfg.max_iters={iters}',
        f'train_cfg.val_interval={iters}',
        f'default_hooks.checkpoint.interval={iters}',
        'default_hooks.logger.interval=1',
        f'param_scheduler.0.end={iters}',
        'randomness.seed=0',
    ]


def short_test_run_options(data_root: str) -> List[str]:
    """``--cfg-options`` every stage's ``mim test`` shares: ``data_root``
    for the test dataloader, no worker processes."""
    return [
        f'test_dataloader.dataset.data_root={data_root}',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False',
    ]
