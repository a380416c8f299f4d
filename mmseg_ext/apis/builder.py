"""Build a segmentor from a config, optionally with trained weights.

The one place that turns a config into a model outside a Runner: the
benchmark (``tools/fps_test.py``), the ONNX export (``tools/deploy``), the
converters' ``--config`` check and the tests all call :func:`build_model`
(and :func:`load_config` when they read a config without building).

It follows mmseg 1.2.2's :func:`mmseg.apis.init_model` (read the config,
merge ``cfg_options``, set the default scope, ``MODELS.build``, load the
checkpoint on the CPU, keep ``dataset_meta`` and the config on the model,
move it to ``device``, ``eval()``) and differs where our callers need it:

* **SyncBN -> BN.** Every config trains with ``SyncBN``; a model built
  outside a distributed run has no process group, so a training-mode
  forward of ``SyncBN`` fails on the CPU. ``revert_sync_batchnorm``
  (mmengine) swaps each for a ``BatchNorm`` holding the same weights and
  statistics: eval-mode outputs do not change. ``init_model`` keeps SyncBN.
* **Strict loading.** ``init_model`` loads non-strictly (mmengine only logs
  missing/unexpected keys), so a checkpoint of another model gives a model
  with random layers and no error. Here the checkpoint's keys and shapes
  are compared first (:func:`mmseg_ext.utils.checkpoint.state_dict_mismatch`,
  the comparison ``mmseg_ext.tools.test`` uses) and a mismatch raises,
  naming the file; ``strict=False`` loads what matches and logs the rest.
* **The config is kept as it is.** ``init_model`` sets ``train_cfg``,
  ``pretrained`` and the backbone ``init_cfg`` to None; here training
  (``train_cfg``) and a later ``init_weights`` (``init_cfg``) still work on
  the built model. Building never loads pretrained weights either way.
* **No guessed classes.** Without ``dataset_meta`` in the checkpoint,
  ``init_model`` picks the first dataset with as many classes; here
  ``dataset_meta`` is only set from the checkpoint (or its mmseg 0.x
  ``CLASSES``/``PALETTE``).

The file is read by mmengine's ``CheckpointLoader`` (``map_location='cpu'``)
with the loaders and ``weights_only`` allow-list ``import mmseg_ext`` sets
up (:mod:`mmseg_ext.utils.pretrained`, :mod:`mmseg_ext.utils.checkpoint`).
"""
import os.path as osp
from pathlib import Path
from typing import Optional, Union

import torch.nn as nn
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import CheckpointLoader, load_state_dict
from mmseg.registry import MODELS
from mmseg.utils import register_all_modules

from ..models.ckpt_convert.engine import unwrap_state_dict
from ..utils.checkpoint import (check_checkpoint_structure,
                                load_checkpoint_file, state_dict_mismatch)
from ..utils.pretrained import REMOTE_PREFIXES

ConfigType = Union[str, Path, Config]


def load_config(config: ConfigType,
                cfg_options: Optional[dict] = None) -> Config:
    """The config ``config`` names, ``cfg_options`` merged, mmseg's
    registries registered and its default scope set.

    Args:
        config (str | Path | Config): A config file (its
            ``custom_imports`` are run) or a config, used as it is (and
            changed in place by ``cfg_options``, as ``init_model`` does).
        cfg_options (dict, optional): ``{dotted key: value}`` merged with
            ``Config.merge_from_dict``.

    Returns:
        Config: The config.

    Raises:
        FileNotFoundError: If the config file does not exist.
        TypeError: If ``config`` is neither a path nor a ``Config``.
    """
    if isinstance(config, (str, Path)):
        if not osp.isfile(config):
            raise FileNotFoundError(f'config file not found: {config}')
        config = Config.fromfile(config)
    elif not isinstance(config, Config):
        raise TypeError('config must be a file name or a Config, not '
                        f'{type(config).__name__}')
    if cfg_options:
        config.merge_from_dict(cfg_options)
    register_all_modules(init_default_scope=False)
    init_default_scope(config.get('default_scope', 'mmseg'))
    return config


def load_weights(model: nn.Module,
                 checkpoint: str,
                 strict: bool = True) -> dict:
    """Load the ``state_dict`` of the file ``checkpoint`` into ``model``.

    Args:
        model (nn.Module): The model (SyncBN already reverted).
        checkpoint (str): A local file or a URL mmengine can load.
        strict (bool): Refuse missing, unexpected or mis-shaped keys (BN
            ``num_batches_tracked`` counters excepted). Default: True.

    Returns:
        dict: The loaded checkpoint (its ``meta`` included).

    Raises:
        FileNotFoundError: If the local file does not exist.
        ValueError: If the local file is empty or truncated
            (:func:`~mmseg_ext.utils.checkpoint.check_checkpoint_file`), or
            its ``meta``/``state_dict`` are not dicts, naming the file.
        ConversionError: If the file holds no state dict of tensors.
        RuntimeError: If ``strict`` and the keys or shapes differ: names the
            file, the counts and the first keys.
    """
    checkpoint = str(checkpoint)
    if checkpoint.startswith(REMOTE_PREFIXES):
        loaded = CheckpointLoader.load_checkpoint(
            checkpoint, map_location='cpu')
    else:
        loaded = load_checkpoint_file(
            checkpoint, lambda path: CheckpointLoader.load_checkpoint(
                path, map_location='cpu'))
    if isinstance(loaded, dict):
        check_checkpoint_structure(loaded, checkpoint)
    state = unwrap_state_dict(loaded, checkpoint)
    mismatch = state_dict_mismatch(model.state_dict(), state)
    if mismatch and strict:
        raise RuntimeError(
            f'checkpoint {checkpoint} does not match the model of the '
            f'config: {mismatch.describe()}')
    load_state_dict(model, state, strict=False, logger='current')
    if mismatch:
        print_log(
            f'checkpoint {checkpoint} loaded partially: '
            f'{mismatch.describe()}',
            logger='current')
    return loaded if isinstance(loaded, dict) else {}


def _dataset_meta(loaded: dict) -> Optional[dict]:
    """``dataset_meta`` of a checkpoint, as ``init_model`` reads it."""
    meta = loaded.get('meta') or {}
    if 'dataset_meta' in meta:
        return meta['dataset_meta']
    if 'CLASSES' in meta:  # mmseg 0.x
        return dict(classes=meta['CLASSES'], palette=meta.get('PALETTE'))
    return None


def build_model(config: ConfigType,
                checkpoint: Optional[str] = None,
                device: str = 'cpu',
                cfg_options: Optional[dict] = None,
                strict: bool = True) -> nn.Module:
    """The segmentor of ``config`` in eval mode, SyncBN reverted to BN.

    See the module docstring for how this differs from mmseg's
    ``init_model``.

    Args:
        config (str | Path | Config): Config file or config
            (:func:`load_config`).
        checkpoint (str, optional): Weights to load (:func:`load_weights`);
            None keeps the initial (random) weights.
        device (str): Where the model goes. Default: ``'cpu'``.
        cfg_options (dict, optional): Merged into the config first.
        strict (bool): Refuse a checkpoint that does not match the model.
            Default: True.

    Returns:
        nn.Module: The model, with ``cfg`` (the config) and, when the
        checkpoint records it, ``dataset_meta`` set.

    Raises:
        FileNotFoundError: For a missing config or checkpoint file.
        RuntimeError: If ``strict`` and the checkpoint does not match.
    """
    cfg = load_config(config, cfg_options)
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    if checkpoint is not None:
        meta = _dataset_meta(load_weights(model, checkpoint, strict))
        if meta is not None:
            model.dataset_meta = meta
    model.cfg = cfg
    return model.to(device).eval()
