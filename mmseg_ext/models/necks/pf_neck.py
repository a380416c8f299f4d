"""PointFlow neck of PFNet: PointMatcher, PointFlowModule and their FPN."""
from typing import Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmcv.ops import point_sample
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import ConfigType
from torch import Tensor

from ..utils.point_flow_ops import (coarse_to_fine_indices,
                                    point_affinity_fuse, scatter_points,
                                    topk_grid_points)
from .aligned_fpn_neck import AlignedFPNNeck


class PointMatcher(nn.Module):
    """Certainty map of a pair of levels (PFNet, arXiv 2103.06564, Sec. 3.2).

    Official ``PointMatcher`` (lxtGH/PFSegNets ``network/nn/point_flow.py``):
    the fine embedding is resized **down** to the coarse size (bilinear,
    ``align_corners=True``), ``[coarse, fine]`` go through a 3x3 conv (with
    bias) to one channel, then a sigmoid.

    Args:
        channels (int): Width of each embedding (``match_dim``).
        kernel_size (int): Kernel of the matching conv. Default: 3.

    Shapes:
        coarse (N, C, h, w), fine (N, C, H, W) -> certainty (N, 1, h, w) in
        (0, 1).
    """

    def __init__(self, channels: int, kernel_size: int = 3):
        super().__init__()
        self.match_conv = nn.Conv2d(
            channels * 2, 1, kernel_size, padding=kernel_size // 2)

    def forward(self, coarse: Tensor, fine: Tensor) -> Tensor:
        fine = resize(
            fine,
            size=coarse.shape[2:],
            mode='bilinear',
            align_corners=True,
            warning=False)
        return torch.sigmoid(self.match_conv(torch.cat([coarse, fine], dim=1)))


class PointFlowModule(nn.Module):
    """PointFlow module with edge and saliency point sampling.

    PFNet (`arXiv 2103.06564 <https://arxiv.org/abs/2103.06564>`_, Sec. 3.2,
    Fig. 3); reproduces ``PointFlowModuleWithMaxAvgpool`` of lxtGH/PFSegNets
    (``network/nn/point_flow.py``, e613a59):

    1. ``down_h``/``down_l`` (1x1 convs **with** bias) embed both levels to
       ``match_dim`` and :class:`PointMatcher` gives the certainty map ``m``
       at the coarse size.
    2. Edge branch: ``coarse - coarse * up(avgpool(m))`` (adaptive avg pool to
       ``avgpool_size``, bilinear ``align_corners=True`` back) goes through
       3x3 conv-BN-ReLU-3x3 conv (no bias) to the edge logits; the
       ``edge_points`` highest cells are sampled from both levels at the
       coarse cell centres (:func:`mmcv.ops.point_sample`,
       ``align_corners=False``) and fused by affinity.
    3. Salient branch: adaptive **max** pool of ``m`` to ``maxpool_size`` with
       indices; ``coarse`` is boosted by ``coarse + up(maxpool(m)) * coarse``
       and the pooled argmax cells are gathered from it and from the fine
       level (at the mapped top-left pixel) and fused by affinity.
    4. Output: the **fine** map with only the sampled points replaced (edge
       points first, then salient points overwrite). The neck then adds the
       lateral once more, so away from the points the fused level is twice the
       lateral, as in the official code.

    Args:
        in_channels (int): Width of both levels (``fpn_dim``).
        match_dim (int): Embedding width for the matcher. Official training
            scripts: 64.
        maxpool_size (int): Salient grid size. Scripts: 14 (code default 8).
        avgpool_size (int): Edge-suppression grid size. Scripts: 9 (code
            default 8).
        edge_points (int): Edge points per image. Scripts: 128 (code default
            32).
        norm_cfg (dict): Norm of the edge branch. Default: ``dict(type='BN')``.

    Shapes:
        coarse (N, C, h, w), fine (N, C, H, W) -> fused fine map (N, C, H, W)
        and edge logits (N, 1, h, w).
    """

    def __init__(self,
                 in_channels: int,
                 match_dim: int = 64,
                 maxpool_size: int = 14,
                 avgpool_size: int = 9,
                 edge_points: int = 128,
                 norm_cfg: ConfigType = dict(type='BN')):
        super().__init__()
        self.maxpool_size = maxpool_size
        self.avgpool_size = avgpool_size
        self.edge_points = edge_points
        self.down_h = nn.Conv2d(in_channels, match_dim, 1)
        self.down_l = nn.Conv2d(in_channels, match_dim, 1)
        self.point_matcher = PointMatcher(match_dim)
        self.edge_final = nn.Sequential(
            ConvModule(
                in_channels,
                in_channels,
                3,
                padding=1,
                bias=False,
                norm_cfg=norm_cfg,
                act_cfg=dict(type='ReLU')),
            nn.Conv2d(in_channels, 1, 3, padding=1, bias=False))

    def forward(self, coarse: Tensor, fine: Tensor) -> Tuple[Tensor, Tensor]:
        coarse_size, fine_size = coarse.shape[2:], fine.shape[2:]
        certainty = self.point_matcher(self.down_h(coarse), self.down_l(fine))

        avg_grid = resize(
            F.adaptive_avg_pool2d(certainty, self.avgpool_size),
            size=coarse_size,
            mode='bilinear',
            align_corners=True,
            warning=False)
        edge_pred = self.edge_final(coarse - coarse * avg_grid)
        edge_idx, edge_coords = topk_grid_points(edge_pred, self.edge_points)
        edge_fused = point_affinity_fuse(
            point_sample(coarse, edge_coords), point_sample(fine, edge_coords))

        max_grid, max_idx = F.adaptive_max_pool2d(
            certainty, self.maxpool_size, return_indices=True)
        max_grid = resize(
            max_grid,
            size=coarse_size,
            mode='bilinear',
            align_corners=True,
            warning=False)
        boosted = coarse + max_grid * coarse
        max_idx = max_idx.flatten(
            1)  # (N, s*s) into h*w, same for all channels
        fine_max_idx = coarse_to_fine_indices(max_idx, coarse_size, fine_size)
        max_fused = point_affinity_fuse(
            _gather(boosted, max_idx), _gather(fine, fine_max_idx))

        out = scatter_points(
            fine, coarse_to_fine_indices(edge_idx, coarse_size, fine_size),
            edge_fused)
        return scatter_points(out, fine_max_idx, max_fused), edge_pred


def _gather(feat: Tensor, indices: Tensor) -> Tensor:
    """(N, C, H, W) features at flat (N, P) indices -> (N, C, P)."""
    n, c = feat.shape[:2]
    return feat.flatten(2).gather(2, indices.unsqueeze(1).expand(-1, c, -1))


@MODELS.register_module()
class PFNeck(AlignedFPNNeck):
    """PointFlow neck of PFNet (`arXiv 2103.06564
    <https://arxiv.org/abs/2103.06564>`_).

    The feature part of ``UperNetAlignHeadMaxAvgpool`` (lxtGH/PFSegNets
    ``network/pointflow_resnet_with_max_avg_pool.py``): the
    :class:`AlignedFPNNeck` skeleton (PPM, laterals, ``fpn_out``) whose levels
    are merged by ``f = PointFlowModule(f, lateral) + lateral``; the module is
    called as the official ``fpn_out_align[i]([f, conv_x])``: its coarse
    input is the top-down map, its fine input the lateral. :class:`PFHead`
    fuses the outputs and supervises the edge logits.

    Args:
        in_channels (Sequence[int]): Widths of the backbone levels, fine to
            coarse, e.g. (256, 512, 1024, 2048) for R-50.
        channels (int): ``fpn_dim`` (official: 256).
        match_dim (int): PointMatcher width. Default: 64.
        maxpool_size (int): Salient grid. Default: 14 (training scripts).
        avgpool_size (int): Edge-suppression grid. Default: 9 (scripts).
        edge_points (int): Edge points per level. Default: 128 (scripts).
        norm_cfg (dict): Norm layers. Default: ``dict(type='BN')``.
        **kwargs: :class:`AlignedFPNNeck` arguments (``pool_scales``,
            ``ppm_dropout``, ``act_cfg``, ``init_cfg``).

    Input: tuple of L maps (N, in_channels[i], H_i, W_i), fine to coarse.
    Output: tuple of 2L-1 maps: L fused maps (N, channels, H_i, W_i)
    (``fpn_out`` of the fine levels, then the PPM output), then L-1 edge
    logits (N, 1, H_{i+1}, W_{i+1}), one per fine level i, at the size of
    the coarser level, fine to coarse.

    Raises:
        ValueError: If the number of inputs differs from ``in_channels``.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 channels: int,
                 match_dim: int = 64,
                 maxpool_size: int = 14,
                 avgpool_size: int = 9,
                 edge_points: int = 128,
                 norm_cfg: ConfigType = dict(type='BN'),
                 **kwargs):
        super().__init__(in_channels, channels, norm_cfg=norm_cfg, **kwargs)
        self.point_flows = nn.ModuleList(
            PointFlowModule(channels, match_dim, maxpool_size, avgpool_size,
                            edge_points, norm_cfg)
            for _ in self.in_channels[:-1])

    def align(self, level: int, lateral: Tensor,
              coarse: Tensor) -> Tuple[Tensor, Tensor]:
        return self.point_flows[level](coarse, lateral)

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        outs, _, edges = self.top_down(inputs)
        return tuple(outs + edges)
