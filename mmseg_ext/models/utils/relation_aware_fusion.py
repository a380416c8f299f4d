"""Relational-Aware Fusion (RAF) of ISDNet: shallow x deep feature fusion.

`ISDNet (CVPR 2022)`; reproduces ``ChannelAtt`` and
``RelationAwareFusion`` of cedricgsh/ISDNet
``mmseg/models/decode_heads/isdhead.py`` (commit 7341335).
"""
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmseg.models.utils import resize
from torch import Tensor


class ChannelAtt(nn.Module):
    """Feature and channel attention logits of one RAF input.

    Official ``ChannelAtt`` (its unused ``fre`` variant is not ported): a 3x3
    conv-BN-ReLU gives the feature; its global mean through a 1x1 conv-BN
    (no activation) gives the attention *logits* (the sigmoid comes later,
    after the relational term is added).

    Args:
        in_channels (int): Input channels.
        channels (int): Output channels C.
        conv_cfg, norm_cfg, act_cfg (dict | None): ConvModule configs.

    Input (N, in_channels, H, W); output ``(feat, att)`` of shapes
    (N, C, H, W) and (N, C, 1, 1).
    """

    def __init__(self,
                 in_channels: int,
                 channels: int,
                 conv_cfg=None,
                 norm_cfg=None,
                 act_cfg=dict(type='ReLU')):
        super().__init__()
        cfgs = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        self.conv_bn_relu = ConvModule(
            in_channels, channels, 3, padding=1, act_cfg=act_cfg, **cfgs)
        self.conv_1x1 = ConvModule(channels, channels, 1, act_cfg=None, **cfgs)

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        feat = self.conv_bn_relu(x)
        att = self.conv_1x1(feat.mean(dim=(2, 3), keepdim=True))
        return feat, att


def grouped_channel_affinity(att_a: Tensor, att_b: Tensor,
                             groups: int) -> Tensor:
    """Affinity between two channel-attention vectors split into groups.

    ``RelationAwareFusion.forward`` of the official code: each (N, C, 1, 1)
    vector is viewed as ``groups`` consecutive groups of ``C // groups``
    channels and ``bmm`` gives the (groups x groups) inner products.

    Args:
        att_a (Tensor): Shape (N, C, 1, 1) (the spatial/shallow side).
        att_b (Tensor): Shape (N, C, 1, 1) (the context/deep side).
        groups (int): Number of groups; must divide C.

    Returns:
        Tensor: Shape (N, groups * groups), row-major ``a_i . b_j``.

    Raises:
        ValueError: If ``groups`` does not divide C.
    """
    n, c = att_a.shape[:2]
    if c % groups:
        raise ValueError(f'{groups} groups do not divide {c} channels')
    a = att_a.reshape(n, groups, c // groups)
    b = att_b.reshape(n, groups, c // groups)
    return torch.bmm(a, b.transpose(1, 2)).reshape(n, groups * groups)


class RelationAwareFusion(nn.Module):
    """Relational-Aware Fusion (RAF) of a shallow and a deep feature.

    Official ``RelationAwareFusion``::

        s, a_s = ChannelAtt(spatial)        c, a_c = ChannelAtt(context)
        r = grouped_channel_affinity(a_s, a_c, groups)        # (N, G*G)
        s = s * sigmoid(a_s + g_s * relu(MLP_s(r)))
        c = c * sigmoid(a_c + g_c * relu(MLP_c(r)))
        c = conv_bn_relu(resize(c, size(s), bilinear, align_corners=False))
        out = conv_bn(s + c)

    ``MLP`` is Linear(G*G, C)-ReLU-Linear(C, C); the gates ``g_s``, ``g_c``
    are scalars initialised to zero, so at initialisation the relational
    term is off and RAF is a plain channel-attention fusion. The official
    MLP input width is written ``2 * C``, which equals ``G*G`` only for its
    C = 128, G = 16; we use ``G*G`` (identical there).

    Args:
        channels (int): Width C of both branches after ``ChannelAtt``.
        spatial_channels (int): Channels of the shallow input (official
            ``channels * ext``: 512 for 1/16, 256 for 1/8).
        groups (int): Channel groups of the affinity (official ``r``).
            Default: 16.
        conv_cfg, norm_cfg, act_cfg (dict | None): ConvModule configs.

    Input: ``spatial`` (N, spatial_channels, H, W) and ``context``
    (N, C, h, w), any h, w. Output ``(s, c, out)``, all (N, C, H, W): the
    re-weighted shallow feature, the upsampled context feature (used by the
    auxiliary heads) and the fused feature.
    """

    def __init__(self,
                 channels: int,
                 spatial_channels: int,
                 groups: int = 16,
                 conv_cfg=None,
                 norm_cfg=None,
                 act_cfg=dict(type='ReLU')):
        super().__init__()
        if channels % groups:
            raise ValueError(f'RAF: {groups} groups do not divide '
                             f'{channels} channels')
        self.groups = groups
        cfgs = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        self.spatial_gate = nn.Parameter(torch.zeros(1))
        self.context_gate = nn.Parameter(torch.zeros(1))
        self.spatial_mlp = nn.Sequential(
            nn.Linear(groups * groups, channels), nn.ReLU(),
            nn.Linear(channels, channels))
        self.context_mlp = nn.Sequential(
            nn.Linear(groups * groups, channels), nn.ReLU(),
            nn.Linear(channels, channels))
        self.spatial_att = ChannelAtt(
            spatial_channels, channels, act_cfg=act_cfg, **cfgs)
        self.context_att = ChannelAtt(
            channels, channels, act_cfg=act_cfg, **cfgs)
        self.context_conv = ConvModule(
            channels, channels, 3, padding=1, act_cfg=act_cfg, **cfgs)
        self.smooth = ConvModule(
            channels, channels, 3, padding=1, act_cfg=None, **cfgs)

    def forward(self, spatial: Tensor,
                context: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        s_feat, s_att = self.spatial_att(spatial)
        c_feat, c_att = self.context_att(context)
        affinity = grouped_channel_affinity(s_att, c_att, self.groups)
        s_rel = F.relu(self.spatial_mlp(affinity))[..., None, None]
        c_rel = F.relu(self.context_mlp(affinity))[..., None, None]
        s_feat = s_feat * torch.sigmoid(s_att + self.spatial_gate * s_rel)
        c_feat = c_feat * torch.sigmoid(c_att + self.context_gate * c_rel)
        c_feat = self.context_conv(
            resize(
                c_feat,
                size=s_feat.shape[2:],
                mode='bilinear',
                align_corners=False))
        return s_feat, c_feat, self.smooth(s_feat + c_feat)
