"""Online hard example mining cross-entropy of the official SFNet/PFNet
training (``OhemCrossEntropy2dTensor``)."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor


def ohem_keep_mask(logits: Tensor, label: Tensor, thresh: float, min_kept: int,
                   ignore_index: int) -> Tensor:
    """Pixels the official OHEM keeps.

    Reproduces ``OhemCrossEntropy2dTensor`` (lxtGH/SFSegNets ``loss.py``):
    a valid pixel is kept when the softmax probability of its label is
    ``<= t``, ``t = max(thresh, p_(min_kept))`` where ``p_(k)`` is the k-th
    smallest label probability over the **whole batch**. When the batch has
    fewer than ``min_kept`` valid pixels every valid pixel is kept.

    Args:
        logits (Tensor): (N, C, H, W) scores.
        label (Tensor): (N, H, W) class ids, ``ignore_index`` for void.
        thresh (float): Probability threshold (official 0.7).
        min_kept (int): Least number of pixels kept per batch.
        ignore_index (int): Void label.

    Returns:
        Tensor: bool (N, H, W), True where the pixel enters the loss.
    """
    valid = label != ignore_index
    num_valid = int(valid.sum())
    if num_valid == 0 or min_kept > num_valid:
        return valid
    with torch.no_grad():
        prob = F.softmax(logits.float(), dim=1)
        safe = label.masked_fill(~valid, 0).long()
        label_prob = prob.gather(1, safe.unsqueeze(1)).squeeze(1)
        label_prob = label_prob.masked_fill(~valid, 1.0)
        threshold = torch.as_tensor(
            thresh, dtype=label_prob.dtype, device=label_prob.device)
        if min_kept > 0:
            kth = label_prob.flatten().kthvalue(
                min(label_prob.numel(), min_kept)).values
            threshold = torch.maximum(threshold, kth)
        return valid & (label_prob <= threshold)


@MODELS.register_module()
class OhemCrossEntropyLoss(nn.Module):
    """Cross-entropy over the hard pixels only, averaged over the kept pixels.

    The official SFNet and PointFlow training (lxtGH/SFSegNets and
    lxtGH/PFSegNets ``loss.py``, ``OhemCrossEntropy2dTensor``, thresh 0.7,
    min_kept 10000 per GPU batch; SFNet's DSN criterion uses 100000); the
    pixels are those of :func:`ohem_keep_mask`. mmseg's ``OHEMPixelSampler``
    selects the same pixels but counts ``min_kept`` per image and averages
    the loss over *all* pixels, which scales the loss by the kept fraction;
    this loss divides by the number of kept pixels, as the official code
    does. Use it without a ``sampler``.

    **Why not mmseg 1.2.2's** ``OhemCrossEntropy``
    (``mmseg/models/losses/ohem_cross_entropy_loss.py``, from PIDNet's
    ``utils/criterion.py``): it also averages over the kept pixels of the
    batch, but its rule differs from the official SFNet one in three ways,
    each of which changes which pixels train:

    * it keeps ``p < threshold``, the official code ``p <= threshold``;
    * its threshold candidate is the sorted probability at index
      ``min_kept`` (the (min_kept+1)-th smallest), the official one at
      ``min_kept - 1`` (the min_kept-th smallest);
    * when the batch has fewer valid pixels than ``min_kept`` it still
      thresholds (at the largest probability), where the official code keeps
      every valid pixel.

    It also takes its ``ignore_label`` from its own config rather than the
    head's ``ignore_index``. Ours keeps the official rule, because the
    SFNet and PFNet configs reproduce the official training.

    Args:
        thresh (float): Probability threshold. Default: 0.7.
        min_kept (int): Least pixels kept per batch. Default: 10000.
        loss_weight (float): Weight of this loss. Default: 1.0.
        loss_name (str): Name in the log; must start with ``loss_``.
            Default: 'loss_ohem_ce'.

    Raises:
        ValueError: In :meth:`forward`, if given a ``weight`` (a sampler's
            per-pixel weights): OHEM selects its own pixels.

    Label values are not checked here, as in mmseg's losses:
    :class:`~mmseg_ext.engine.hooks.LabelCheckHook` checks every batch.
    """

    def __init__(self,
                 thresh: float = 0.7,
                 min_kept: int = 10000,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_ohem_ce'):
        super().__init__()
        self.thresh = float(thresh)
        self.min_kept = int(min_kept)
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self,
                cls_score: Tensor,
                label: Tensor,
                weight: Optional[Tensor] = None,
                ignore_index: int = 255,
                **kwargs) -> Tensor:
        """Mean cross-entropy of the kept pixels, times ``loss_weight``.

        Args:
            cls_score (Tensor): Logits (N, C, H, W).
            label (Tensor): Class ids (N, H, W), ``ignore_index`` for void;
                every other value must be in ``[0, C)``.
            weight (Tensor, optional): Must be None (mmseg passes a
                sampler's ``seg_weight`` here).
            ignore_index (int): Void label. Default: 255.
            **kwargs: Other arguments of mmseg's loss call (``avg_factor``,
                ...), ignored.

        Returns:
            Tensor: Scalar loss (0 with a gradient path when no pixel is
            kept).

        Raises:
            ValueError: If ``weight`` is given.
        """
        if weight is not None:
            raise ValueError(
                'OhemCrossEntropyLoss selects its own pixels and takes no '
                'per-pixel weight; remove the decode head\'s sampler (e.g. '
                'OHEMPixelSampler) when using this loss')
        keep = ohem_keep_mask(cls_score, label, self.thresh, self.min_kept,
                              ignore_index)
        target = label.masked_fill(~keep, ignore_index).long()
        if not keep.any():
            return cls_score.sum() * 0.0
        loss = F.cross_entropy(
            cls_score, target, ignore_index=ignore_index, reduction='mean')
        return self.loss_weight * loss

    @property
    def loss_name(self) -> str:
        return self._loss_name
