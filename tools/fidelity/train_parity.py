"""Our side of the training-step parity checks.

Our model is built from its config (SyncBN reverted to BN, the data
preprocessor's fixed padding size set to the batch size), given converted
official weights, and trained K iterations through mmseg's own path:
``model.train_step(data, optim_wrapper)`` (data preprocessor, ``loss``,
``parse_losses``, ``OptimWrapper.update_params``) with the optimizer wrapper
built from the config's ``optim_wrapper`` by mmengine. The official side and
the fixture are made by :mod:`tools.fidelity.golden` (``*_train``).
:func:`depthwise_conv_gauss` is the official form of ISDNet's Laplacian
blur, for checks that need the official op order.
"""
import copy
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.structures import PixelData

from tools.fidelity.golden._train_step import dropout_off_


def depthwise_conv_gauss(img: torch.Tensor,
                         scale: float = 1.0) -> torch.Tensor:
    """The official ISDNet blur: reflect padding by 2, depthwise ``conv2d``.

    ``Lap_Pyramid_Conv.conv_gauss`` of cedricgsh/ISDNet
    ``mmseg/models/decode_heads/isdhead.py`` with ``scale`` times the 5x5
    binomial kernel (:func:`~mmseg_ext.models.utils.laplacian_pyramid.
    gauss_kernel`). Our ``laplacian_pyramid.conv_gauss`` applies the same
    filter separably (float rounding apart, < 3e-7); put this one in its
    place to get the official op order, hence the official bits.

    Args:
        img (Tensor): Shape (N, C, H, W), floating, H, W >= 3.
        scale (float): Factor on the kernel. Default: 1.

    Returns:
        Tensor: Shape (N, C, H, W).
    """
    from mmseg_ext.models.utils.laplacian_pyramid import gauss_kernel
    kernel = gauss_kernel(img.shape[1], img.device, img.dtype) * scale
    return F.conv2d(
        F.pad(img, (2, 2, 2, 2), mode='reflect'), kernel, groups=img.shape[1])


def build_model(cfg_path: str,
                crop: Sequence[int],
                model_overrides: Optional[dict] = None) -> tuple:
    """``(model, cfg)`` of ``cfg_path`` for a CPU training-step check.

    Args:
        cfg_path (str): Our config file.
        crop (tuple[int]): (H, W) of the batches (the preprocessor pads to
            it, i.e. not at all).
        model_overrides (dict, optional): Merged into ``cfg.model``.
    """
    from mmseg_ext import apis
    cfg = apis.load_config(cfg_path)
    cfg.model.data_preprocessor.size = tuple(crop)
    overrides = dict(model=model_overrides) if model_overrides else None
    return apis.build_model(cfg, cfg_options=overrides), cfg


def to_data(batch: Dict[str, torch.Tensor]) -> dict:
    """A fixture batch (``img`` BGR uint8 (N, 3, H, W), ``label`` (N, H,
    W), optional ``edge`` (N, H, W)) as the ``data`` dict that mmseg's
    data loader gives ``train_step``."""
    from mmseg.structures import SegDataSample
    inputs, samples = [], []
    edges = batch.get('edge', [None] * len(batch['img']))
    for img, label, edge in zip(batch['img'], batch['label'], edges):
        inputs.append(img.clone())
        sample = SegDataSample()
        h, w = label.shape
        sample.set_metainfo(
            dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w)))
        sample.gt_sem_seg = PixelData(data=label[None].long())
        if edge is not None:  # as GenerateBoundary + PackSegInputs
            sample.gt_edge_map = PixelData(data=edge[None].long())
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def train_steps(model: nn.Module, cfg: Config,
                batches: Sequence[dict]) -> List[Dict[str, float]]:
    """K iterations of ``model.train_step`` (train mode, dropout off).

    The optimizer wrapper is ``build_optim_wrapper(model,
    cfg.optim_wrapper)``; no parameter scheduler runs (the official lr is
    constant within an epoch). Returns per step ``{'loss': total, <log
    key>: value}`` (floats).
    """
    optim_wrapper = build_optim_wrapper(model,
                                        copy.deepcopy(cfg.optim_wrapper))
    model.train()
    dropout_off_(model)
    record = []
    for batch in batches:
        log_vars = model.train_step(to_data(batch), optim_wrapper)
        record.append({k: float(v) for k, v in log_vars.items()})
    return record


def loss_rel_diff(ours: Sequence[dict], gold: Sequence[dict],
                  pairs: Dict[str, str]) -> Dict[str, List[float]]:
    """``{official term: [relative diff per step]}`` for ``pairs`` (official
    term -> our log key)."""
    out = {}
    for off_key, our_key in pairs.items():
        out[off_key] = [
            abs(o[our_key] - g[off_key]) / max(abs(g[off_key]), 1e-12)
            for o, g in zip(ours, gold)
        ]
    return out
