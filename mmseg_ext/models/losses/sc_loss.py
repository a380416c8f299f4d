"""Semantic context (SC) loss of GINet: image-level class presence."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor


def class_presence(label: Tensor,
                   num_classes: int,
                   ignore_index: int = 255) -> Tensor:
    """Which classes occur in each label map.

    The target of PaddleSeg's ``SCLoss._get_batch_label_vector`` (commit
    e13869b5, ``paddleseg/models/losses/sc_loss.py``): a histogram over
    ``[0, num_classes - 1]`` per image, > 0. Values outside that range, the
    ``ignore_index`` among them, count for no class.

    Args:
        label (Tensor): (N, H, W) or (N, 1, H, W) integer class ids.
        num_classes (int): Number of classes K.
        ignore_index (int): Void label (excluded like any out-of-range id).

    Returns:
        Tensor: float (N, K), 1.0 where class k occurs in image n.
    """
    if label.dim() == 4:
        label = label.squeeze(1)
    flat = label.reshape(label.size(0), -1).long()
    valid = (flat >= 0) & (flat < num_classes) & (flat != ignore_index)
    # scatter 1 at every valid id; invalid pixels write into a dropped slot
    index = torch.where(valid, flat, torch.full_like(flat, num_classes))
    hit = torch.zeros(
        flat.size(0), num_classes + 1, dtype=torch.float32, device=flat.device)
    hit.scatter_(1, index, 1.0)
    return hit[:, :num_classes].contiguous()


@MODELS.register_module()
class SCLoss(nn.Module):
    """Binary cross-entropy between class-node logits and class presence.

    GINet's semantic context loss (`arXiv 2009.06160
    <https://arxiv.org/abs/2009.06160>`_, Sec. 3.4), as PaddleSeg's unmerged
    ``SCLoss`` (commit e13869b5, ``paddleseg/models/losses/sc_loss.py``)
    computes it: ``BCE(sigmoid(s), t)`` averaged over all N x K entries,
    where ``t`` is :func:`class_presence` of the label maps. The official
    loss multiplies this scalar by the valid-pixel mask and divides by the
    mask's mean, which leaves it unchanged unless the whole batch is
    ignored, where it is 0; we return 0 in that case too.

    The class-node logits ``s`` (N, K) come from the head: PaddleSeg keeps
    the learnable ``semantic_centroid`` (K x C, initialised to ones) inside
    the loss and computes ``s_k = <class_node_k, centroid_k>``; here the
    centroid is a parameter of :class:`GINetHead` (losses in mmseg hold no
    weights), which passes ``s`` to this loss from ``loss_by_feat``. The BCE
    is evaluated with logits (``binary_cross_entropy_with_logits``), the
    numerically stable form of the same value.

    Args:
        loss_weight (float): Weight of the loss (GINet: 0.2). Default: 0.2.
        loss_name (str): Name in the log; starts with ``loss_``.
            Default: 'loss_sc'.
    """

    def __init__(self, loss_weight: float = 0.2, loss_name: str = 'loss_sc'):
        super().__init__()
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self,
                cls_score: Tensor,
                label: Tensor,
                ignore_index: int = 255,
                **kwargs) -> Tensor:
        """(N, K) class-node logits and (N, H, W) labels -> scalar loss.

        Raises:
            ValueError: If ``cls_score`` is not (N, K) or its batch size
                differs from the labels'.
        """
        if cls_score.dim() != 2 or cls_score.size(0) != label.size(0):
            raise ValueError(
                f'SCLoss expects (N, K) class logits for N label maps, got '
                f'{tuple(cls_score.shape)} and labels {tuple(label.shape)}')
        target = class_presence(label, cls_score.size(1), ignore_index)
        if not bool((label != ignore_index).any()):
            return cls_score.sum() * 0.0
        loss = F.binary_cross_entropy_with_logits(
            cls_score.float(), target, reduction='mean')
        return self.loss_weight * loss

    @property
    def loss_name(self) -> str:
        return self._loss_name
