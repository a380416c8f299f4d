"""Class-balanced binary cross-entropy of boundary maps (PFNet edge loss)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor


def class_balanced_bce(logits: Tensor, target: Tensor) -> Tensor:
    """HED-style balanced BCE over a whole batch, as PFNet's ``bce2d``.

    Reproduces ``JointEdgeSegLightLossPfnet.bce2d`` (lxtGH/PFSegNets
    ``loss.py``): with P positive (target 1) and M negative (target 0) pixels
    counted over the **whole batch**, positives weigh M / (P + M), negatives
    P / (P + M), pixels with a target above 1 (padding, ignore) weigh 0; the
    weighted BCE-with-logits is averaged over **all** pixels, ignored ones
    included (``size_average=True``).

    Args:
        logits (Tensor): (N, 1, H, W) or (N, H, W) edge logits.
        target (Tensor): (N, H, W) (or the shape of ``logits``) with 1 on
            boundaries, 0 elsewhere, > 1 ignored.

    Returns:
        Tensor: scalar loss. Zero (with a graph) when no pixel is valid,
        where the official code divides by zero.

    Raises:
        ValueError: If ``logits`` and ``target`` hold different pixel counts.
    """
    logits = logits.reshape(-1)
    target = target.reshape(-1)
    if logits.numel() != target.numel():
        raise ValueError(f'edge logits hold {logits.numel()} pixels but the '
                         f'target holds {target.numel()}')
    pos = target == 1
    neg = target == 0
    num_pos = pos.sum()
    total = num_pos + neg.sum()
    if total == 0:
        return logits.sum() * 0
    with torch.no_grad():
        weight = torch.zeros_like(logits)
        weight[pos] = (total - num_pos).float() / total
        weight[neg] = num_pos.float() / total
    return F.binary_cross_entropy_with_logits(
        logits, target.to(logits.dtype), weight, reduction='mean')


@MODELS.register_module()
class ClassBalancedBCELoss(nn.Module):
    """:func:`class_balanced_bce` times ``loss_weight`` (PFNet: 25 per level).

    Args:
        loss_weight (float): Weight of the loss. Default: 1.0.
        loss_name (str): Name in the loss dict; must start with ``loss_`` to be
            summed by mmseg. Default: ``'loss_edge'``.
    """

    def __init__(self, loss_weight: float = 1.0, loss_name: str = 'loss_edge'):
        super().__init__()
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self, logits: Tensor, target: Tensor, **kwargs) -> Tensor:
        return self.loss_weight * class_balanced_bce(logits, target)

    @property
    def loss_name(self) -> str:
        return self._loss_name
