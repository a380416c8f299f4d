"""Fusion head of PFNet with the edge supervision of its PointFlow modules."""
from typing import Sequence, Tuple, Union

import torch
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, SampleList
from torch import Tensor

from .sf_head import SFHead


@MODELS.register_module()
class PFHead(SFHead):
    """Fusion head of PFNet (`arXiv 2103.06564
    <https://arxiv.org/abs/2103.06564>`_).

    The tail of ``UperNetAlignHeadMaxAvgpool`` (lxtGH/PFSegNets
    ``network/pointflow_resnet_with_max_avg_pool.py``) is SFNet's fusion
    (:class:`SFHead`: resize every level with ``align_corners=True``, concat,
    3x3 conv-BN-ReLU, 1x1 classifier, no dropout). Training adds PFNet's
    ``JointEdgeSegLightLossPfnet`` (``loss.py``) edge terms: every edge logit
    map of :class:`PFNeck` is upsampled to the label size (bilinear,
    ``align_corners=True``, as the official ``Upsample``) and scored by
    ``loss_edge`` (class-balanced BCE, weight 25 each) against
    ``gt_edge_map``, the boundary target the pipeline derives from the
    label (``GenerateBoundary``, ``datasets/iSAID.py:get_boundary``). The
    segmentation term is ``loss_decode`` (OHEM CE 0.7 / 10000 in the configs).

    Args:
        in_channels (Sequence[int]): Widths of the fused levels.
        channels (int): Width of the fusion conv (``fpn_dim``).
        in_index (Sequence[int]): Neck outputs to fuse. Default: (0, 1, 2, 3).
        edge_index (Sequence[int]): Neck outputs holding the edge logits.
            Default: (4, 5, 6).
        loss_edge (dict): Loss applied to each edge map. Default:
            ``dict(type='ClassBalancedBCELoss', loss_weight=25.0)``.
        **kwargs: :class:`SFHead` / :class:`BaseDecodeHead` arguments.

    Raises:
        ValueError: In :meth:`loss`, if the samples carry no
            ``gt_edge_map``.

    Input: the neck's tuple; :meth:`forward` gives logits
    (N, num_classes, H/4, W/4) in eval mode and ``(logits, edge_logits)`` in
    training (mmseg's contract: :meth:`loss` = :meth:`forward` +
    :meth:`loss_by_feat`). The loss dict holds ``loss_ce`` (or
    ``loss_decode``'s name), ``acc_seg`` and ``<loss_edge name>_l<i>`` for
    every fine level i (fine to coarse).
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 channels: int,
                 in_index: Sequence[int] = (0, 1, 2, 3),
                 edge_index: Sequence[int] = (4, 5, 6),
                 loss_edge: ConfigType = dict(
                     type='ClassBalancedBCELoss', loss_weight=25.0),
                 **kwargs):
        super().__init__(in_channels, channels, in_index=in_index, **kwargs)
        self.edge_index = list(edge_index)
        self.loss_edge = MODELS.build(loss_edge)

    def forward(
        self, inputs: Sequence[Tensor]
    ) -> Union[Tensor, Tuple[Tensor, Tuple[Tensor, ...]]]:
        """Fused logits, and in training the neck's edge logits.

        Args:
            inputs (Sequence[Tensor]): The :class:`PFNeck` tuple.

        Returns:
            Tensor | tuple: Eval mode: logits (N, num_classes, H/4, W/4).
            Training mode: ``(logits, edge_logits)``, ``edge_logits`` the
            (N, 1, h_i, w_i) maps at ``edge_index``, what
            :meth:`loss_by_feat` consumes.
        """
        logits = super().forward(inputs)
        if not self.training:
            return logits
        return logits, tuple(inputs[i] for i in self.edge_index)

    def loss_by_feat(self, seg_logits: Tuple[Tensor, Sequence[Tensor]],
                     batch_data_samples: SampleList) -> dict:
        """Segmentation losses of :class:`SFHead` plus one edge loss per level.

        Args:
            seg_logits (tuple): ``(logits, edge_logits)`` as :meth:`forward`
                returns in training.
            batch_data_samples (list[SegDataSample]): With ``gt_sem_seg``
                and ``gt_edge_map``.

        Raises:
            ValueError: If the samples carry no ``gt_edge_map`` (the
                pipeline lacks ``GenerateBoundary``).
        """
        logits, edge_logits = seg_logits
        losses = super().loss_by_feat(logits, batch_data_samples)
        losses.update(self.loss_by_edges(edge_logits, batch_data_samples))
        return losses

    def loss_by_edges(self, edge_logits: Sequence[Tensor],
                      batch_data_samples: SampleList) -> dict:
        """Edge losses of (N, 1, h_i, w_i) logits against ``gt_edge_map``."""
        missing = [
            ds.metainfo.get('seg_map_path', f'sample {i}')
            for i, ds in enumerate(batch_data_samples)
            if 'gt_edge_map' not in ds
        ]
        if missing:
            raise ValueError(
                'PFHead needs boundary targets (data_sample.gt_edge_map): add '
                "dict(type='GenerateBoundary') before PackSegInputs in the "
                f'train pipeline; missing for {missing}')
        target = torch.stack(
            [ds.gt_edge_map.data for ds in batch_data_samples]).squeeze(1)
        size = target.shape[1:]
        losses = {}
        for i, logits in zip(self.edge_index, edge_logits):
            logits = resize(
                logits,
                size,
                mode='bilinear',
                align_corners=True,
                warning=False)
            level = i - self.edge_index[0]
            losses[f'{self.loss_edge.loss_name}_l{level}'] = self.loss_edge(
                logits, target)
        return losses
