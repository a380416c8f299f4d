"""SF neck: Flow Alignment Modules on an FPN top-down path, a PPM on top."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from torch import Tensor

from ..utils.flow_warp import flow_warp
from .aligned_fpn_neck import AlignedFPNNeck


class FAM(nn.Module):
    """Flow Alignment Module (SFNet, arXiv 2002.10120, Sec. 3.2, Fig. 3).

    Reproduces ``AlignedModule`` of lxtGH/SFSegNets
    (``network/nn/operators.py``): both maps are reduced by bias-free 1x1
    convs to ``channels``, the coarse one is upsampled bilinearly with
    ``align_corners=True``, a bias-free 3x3 conv on their concatenation
    predicts a 2-channel flow, and the *original* (full-width, low-resolution)
    coarse map is warped onto the fine grid by :func:`flow_warp`.

    Args:
        in_channels (int): Width of both inputs.
        channels (int): Width of the reduced maps (official: in_channels // 2).
        kernel_size (int): Kernel of the flow conv. Default: 3.

    Shapes:
        fine (N, C, H, W), coarse (N, C, h, w) -> (N, C, H, W).
    """

    def __init__(self, in_channels: int, channels: int, kernel_size: int = 3):
        super().__init__()
        self.down_h = nn.Conv2d(in_channels, channels, 1, bias=False)
        self.down_l = nn.Conv2d(in_channels, channels, 1, bias=False)
        self.flow_make = nn.Conv2d(
            channels * 2, 2, kernel_size, padding=kernel_size // 2, bias=False)

    def forward(self, fine: Tensor, coarse: Tensor) -> Tensor:
        size = fine.shape[2:]
        fine_red = self.down_l(fine)
        coarse_red = resize(
            self.down_h(coarse),
            size=size,
            mode='bilinear',
            align_corners=True,
            warning=False)
        flow = self.flow_make(torch.cat([coarse_red, fine_red], dim=1))
        return flow_warp(coarse, flow, size)


@MODELS.register_module()
class SFNeck(AlignedFPNNeck):
    """SF neck of SFNet (`arXiv 2002.10120
    <https://arxiv.org/abs/2002.10120>`_).

    The feature part of ``UperNetAlignHead`` in lxtGH/SFSegNets
    (``network/sfnet_resnet.py``); :class:`SFHead` is its fusion part. The PPM,
    laterals and ``fpn_out`` are those of :class:`AlignedFPNNeck`; the levels
    are merged by ``f = FAM(lateral, f) + lateral``.

    Args:
        in_channels (Sequence[int]): Widths of the backbone levels, fine to
            coarse, e.g. (64, 128, 256, 512) for R-18.
        channels (int): ``fpn_dim``: 128 for R-18, 256 for R-50/101.
        fam_channels (int | None): FAM reduction width. Default: channels // 2.
        return_dsn (bool): Also output the pre-``fpn_out`` top-down maps of the
            fine levels (for the DSN auxiliary heads). Default: False.
        **kwargs: :class:`AlignedFPNNeck` arguments (``pool_scales``,
            ``ppm_dropout``, ``norm_cfg``, ``act_cfg``, ``init_cfg``).

    Input: tuple of L maps (N, in_channels[i], H_i, W_i), fine to coarse.
    Output: tuple of L maps (N, channels, H_i, W_i): ``fpn_out`` of the fused
    fine levels then the PPM output; with ``return_dsn`` L-1 more maps, the
    raw fused fine levels, fine to coarse.

    Raises:
        ValueError: If the number of inputs differs from ``in_channels``.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 channels: int,
                 fam_channels: Optional[int] = None,
                 return_dsn: bool = False,
                 **kwargs):
        super().__init__(in_channels, channels, **kwargs)
        self.return_dsn = return_dsn
        fam_channels = fam_channels or channels // 2
        self.fams = nn.ModuleList(
            FAM(channels, fam_channels) for _ in self.in_channels[:-1])

    def align(self, level: int, lateral: Tensor,
              coarse: Tensor) -> Tuple[Tensor, None]:
        return self.fams[level](lateral, coarse), None

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        outs, raw, _ = self.top_down(inputs)
        return tuple(outs + raw) if self.return_dsn else tuple(outs)
