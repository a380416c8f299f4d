"""FPN skeleton shared by SFNet and PFNet: PPM, laterals, ``fpn_out``."""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmseg.models.decode_heads.psp_head import PPM
from mmseg.utils import ConfigType, OptConfigType
from torch import Tensor

from ..utils.weight_init import torch_default_init_


class AlignedFPNNeck(BaseModule):
    """Top-down FPN whose levels are merged by an alignment module.

    The feature part of ``UperNetAlignHead`` (lxtGH/SFSegNets
    ``network/sfnet_resnet.py``) and of ``UperNetAlignHeadMaxAvgpool``
    (lxtGH/PFSegNets ``network/pointflow_resnet_with_max_avg_pool.py``), which
    differ only in how the coarse map ``f`` is brought onto the lateral:

    * PPM on the last level: per scale avg-pool -> 1x1 conv -> BN, **no ReLU**
      (mmseg's :class:`PPM` with ``act_cfg=None``), upsampled with
      ``align_corners=True``; the bottleneck is a **1x1** conv-BN-ReLU over
      ``[pooled maps..., input]`` (that order, as the official code)
      followed by Dropout2d(0.1).
    * Laterals: 1x1 conv (with bias, as official) -> BN -> ReLU.
    * Top-down: ``f = align(lateral, f) + lateral``; ``fpn_out`` (3x3
      conv-BN-ReLU) is applied only to the copy that is output, the raw ``f``
      continues down the path.

    Subclasses implement :meth:`align`.

    Args:
        in_channels (Sequence[int]): Widths of the backbone levels, fine to
            coarse, e.g. (64, 128, 256, 512) for R-18.
        channels (int): ``fpn_dim``: 128 for R-18, 256 for R-50/101.
        pool_scales (Sequence[int]): PPM scales. Default: (1, 2, 3, 6).
        ppm_dropout (float): Dropout2d after the PPM bottleneck. Default: 0.1.
        norm_cfg (dict): Norm layers. Default: ``dict(type='BN')``.
        act_cfg (dict): Activation layers. Default: ``dict(type='ReLU')``.
        init_cfg (dict | list | None): Initialisation config. None (default)
            keeps the official rule, see :meth:`init_weights`.

    Raises:
        ValueError: In ``forward``, if the number of inputs differs from
            ``in_channels``.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 channels: int,
                 pool_scales: Sequence[int] = (1, 2, 3, 6),
                 ppm_dropout: float = 0.1,
                 norm_cfg: ConfigType = dict(type='BN'),
                 act_cfg: ConfigType = dict(type='ReLU'),
                 init_cfg: OptConfigType = None):
        super().__init__(init_cfg)
        self.in_channels = list(in_channels)
        self.channels = channels
        top = self.in_channels[-1]
        self.ppm = PPM(
            pool_scales,
            top,
            channels,
            conv_cfg=None,
            norm_cfg=norm_cfg,
            act_cfg=None,
            align_corners=True)
        self.ppm_bottleneck = nn.Sequential(
            ConvModule(
                top + len(pool_scales) * channels,
                channels,
                1,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg), nn.Dropout2d(ppm_dropout))
        self.lateral_convs = nn.ModuleList()
        self.fpn_convs = nn.ModuleList()
        for width in self.in_channels[:-1]:
            self.lateral_convs.append(
                ConvModule(
                    width,
                    channels,
                    1,
                    bias=True,
                    norm_cfg=norm_cfg,
                    act_cfg=act_cfg))
            self.fpn_convs.append(
                ConvModule(
                    channels,
                    channels,
                    3,
                    padding=1,
                    norm_cfg=norm_cfg,
                    act_cfg=act_cfg))

    def init_weights(self) -> None:
        """Initialise as the official heads: PyTorch's defaults.

        ``UperNetAlignHead`` (lxtGH/SFSegNets ``network/sfnet_resnet.py``)
        and ``UperNetAlignHeadMaxAvgpool`` (lxtGH/PFSegNets
        ``network/pointflow_resnet_with_max_avg_pool.py``) with their
        ``PSPModule``/``AlignedModule``/``PointFlowModuleWithMaxAvgpool``
        never call an initialiser, so every conv keeps ``reset_parameters``
        (weight and bias U(-b, b), b = 1/sqrt(fan_in)) and every BN gamma=1,
        beta=0 -- not ``ConvModule``'s kaiming-normal fan_out. With an
        ``init_cfg`` given, that config rules instead.
        """
        super().init_weights()
        if self.init_cfg is None:
            torch_default_init_(self)

    def align(self, level: int, lateral: Tensor,
              coarse: Tensor) -> Tuple[Tensor, Optional[Tensor]]:
        """Bring ``coarse`` (N, C, h, w) onto ``lateral`` (N, C, H, W).

        Returns the aligned (N, C, H, W) map and an optional by-product of the
        level (e.g. PFNet's edge logits), or None.
        """
        raise NotImplementedError

    def top_down(
        self, inputs: Sequence[Tensor]
    ) -> Tuple[List[Tensor], List[Tensor], List[Tensor]]:
        """Run the PPM and the top-down path.

        Returns three lists, fine to coarse: the L output maps (``fpn_out`` of
        the fused fine levels, then the PPM output), the L-1 raw fused fine
        levels, and the by-products of :meth:`align` that are not None.
        """
        if len(inputs) != len(self.in_channels):
            raise ValueError(f'{type(self).__name__} expects '
                             f'{len(self.in_channels)} levels (in_channels), '
                             f'got {len(inputs)}')
        top = inputs[-1]
        f = self.ppm_bottleneck(torch.cat(self.ppm(top) + [top], dim=1))
        outs: List[Tensor] = [f]
        raw: List[Tensor] = []
        extras: List[Tensor] = []
        for i in reversed(range(len(inputs) - 1)):
            lateral = self.lateral_convs[i](inputs[i])
            aligned, extra = self.align(i, lateral, f)
            f = aligned + lateral
            outs.insert(0, self.fpn_convs[i](f))
            raw.insert(0, f)
            if extra is not None:
                extras.insert(0, extra)
        return outs, raw, extras
