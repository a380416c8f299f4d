"""Classifier block and super-resolution decoder of ISDNet.

`ISDNet (CVPR 2022)`; reproduces ``SegmentationHead`` and
``SRDecoder`` of cedricgsh/ISDNet ``mmseg/models/decode_heads/isdhead.py``
(commit 7341335).
"""
from typing import Sequence, Tuple

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from torch import Tensor


class SegmentationHead(nn.Module):
    """3x3 conv-BN-ReLU to ``mid_channels`` then a 1x1 classifier with bias.

    Official ``SegmentationHead``: the classifier of ISDNet's main, auxiliary
    and super-resolution outputs.

    Args:
        in_channels (int): Input channels.
        mid_channels (int): Channels of the 3x3 conv.
        out_channels (int): Output channels (classes, or 3 for the SR image).
        conv_cfg, norm_cfg, act_cfg (dict | None): ConvModule configs.

    Input (N, in_channels, H, W); output (N, out_channels, H, W).
    """

    def __init__(self,
                 in_channels: int,
                 mid_channels: int,
                 out_channels: int,
                 conv_cfg=None,
                 norm_cfg=None,
                 act_cfg=dict(type='ReLU')):
        super().__init__()
        cfgs = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv_bn_relu = ConvModule(
            in_channels, mid_channels, 3, padding=1, **cfgs)
        self.conv_out = nn.Conv2d(mid_channels, out_channels, 1, bias=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv_out(self.conv_bn_relu(x))


class SRDecoder(nn.Module):
    """Super-resolution decoder of the deep feature (training only).

    Official ``SRDecoder`` with ``up_lists=[4, 2, 2]``: three (nearest
    upsample, 3x3 conv-BN-ReLU) steps with widths C/2, C/2, C, then a
    :class:`SegmentationHead` to a 3-channel image.

    Args:
        channels (int): Input width C. Default: 128.
        scales (Sequence[int]): Nearest upsampling factors. Default:
            (4, 2, 2), i.e. x16: the 1/32 deep feature becomes 1/2.
        conv_cfg, norm_cfg, act_cfg (dict | None): ConvModule configs.

    Input (N, C, h, w); output ``(feats, image)`` of shapes
    (N, C, s*h, s*w) and (N, 3, s*h, s*w), ``s = prod(scales)``.
    """

    def __init__(self,
                 channels: int = 128,
                 scales: Sequence[int] = (4, 2, 2),
                 conv_cfg=None,
                 norm_cfg=None,
                 act_cfg=dict(type='ReLU')):
        super().__init__()
        if len(scales) != 3:
            raise ValueError(f'SRDecoder needs 3 scales, got {scales}')
        self.scales = tuple(scales)
        cfgs = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        widths = (channels, channels // 2, channels // 2, channels)
        self.convs = nn.ModuleList([
            ConvModule(widths[i], widths[i + 1], 3, padding=1, **cfgs)
            for i in range(3)
        ])
        self.conv_sr = SegmentationHead(channels, channels // 2, 3, **cfgs)

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        for scale, conv in zip(self.scales, self.convs):
            x = conv(F.interpolate(x, scale_factor=scale, mode='nearest'))
        return x, self.conv_sr(x)
