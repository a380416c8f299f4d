"""ISDNet head: shallow branch, Relational-Aware Fusion and SR decoder.

`ISDNet: Integrating Shallow and Deep Networks for Efficient Ultra-high
Resolution Segmentation` (Guo et al., CVPR 2022). Every module here
reproduces cedricgsh/ISDNet ``mmseg/models/decode_heads/isdhead.py``
(commit 7341335); ``tools/model_converters/isdnet2mmseg.py`` maps its
checkpoints onto these modules.
"""
from typing import Dict, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, SampleList, add_prefix
from torch import Tensor

from ..utils.label_check import check_seg_labels
from ..utils.laplacian_pyramid import laplacian_pyramid


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
        self.conv_bn_relu = ConvModule(
            in_channels,
            mid_channels,
            3,
            padding=1,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)
        self.conv_out = nn.Conv2d(mid_channels, out_channels, 1, bias=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv_out(self.conv_bn_relu(x))


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
        self.conv_bn_relu = ConvModule(
            in_channels,
            channels,
            3,
            padding=1,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)
        self.conv_1x1 = ConvModule(
            channels,
            channels,
            1,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=None)

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


def image_recon_loss(pred: Tensor,
                     target: Tensor,
                     weight: float = 0.1) -> Tensor:
    """Weighted MSE between the SR output and the Laplacian target.

    Official ``ISDHead.image_recon_loss``: ``pred`` is bilinearly resized
    (``align_corners=False``) to the target size first.

    Args:
        pred (Tensor): SR image, shape (N, 3, h, w).
        target (Tensor): Shape (N, 3, H, W) (the sum of the Laplacian
            residuals at full resolution).
        weight (float): Loss weight (official 0.1).

    Returns:
        Tensor: Scalar loss.
    """
    if pred.shape[2:] != target.shape[2:]:
        pred = resize(
            pred, size=target.shape[2:], mode='bilinear', align_corners=False)
    return F.mse_loss(pred, target) * weight


def spatial_affinity(feats: Tensor, eps: float = 1e-6) -> Tensor:
    """Cosine self-similarity of every pixel pair, after channel-wise norm.

    Official ``feature_affinity_loss``: each channel's flattened map is
    divided by its L2 norm over the *pixels* (+ eps), then the (HW x HW)
    Gram matrix of the pixel vectors is taken.

    Args:
        feats (Tensor): Shape (N, C, H, W).
        eps (float): Added to the norm. Default: 1e-6.

    Returns:
        Tensor: Shape (N, H*W, H*W).
    """
    flat = feats.flatten(2)
    flat = flat / (flat.norm(p=2, dim=2, keepdim=True) + eps)
    return flat.transpose(1, 2) @ flat


def feature_affinity_loss(deep_feats: Tensor,
                          sr_feats: Tensor,
                          weight: float = 1.0) -> Tensor:
    """L1 distance of the deep and SR spatial affinities (SR side detached).

    Official ``ISDHead.feature_affinity_loss``: ``sr_feats`` is bilinearly
    resized (``align_corners=False``) to the deep feature's size and its
    affinity is the (detached) target.

    Args:
        deep_feats (Tensor): Shape (N, C, h, w).
        sr_feats (Tensor): Shape (N, C, H, W).
        weight (float): Loss weight (official 1.0).

    Returns:
        Tensor: Scalar loss.
    """
    if sr_feats.shape[2:] != deep_feats.shape[2:]:
        sr_feats = resize(
            sr_feats,
            size=deep_feats.shape[2:],
            mode='bilinear',
            align_corners=False)
    return F.l1_loss(
        spatial_affinity(deep_feats),
        spatial_affinity(sr_feats).detach()) * weight


@MODELS.register_module()
class ISDHead(BaseDecodeHead):
    """ISDNet head: shallow network, two RAF stages and the SR decoder.

    `ISDNet (CVPR 2022)
    <https://openaccess.thecvf.com/content/CVPR2022/html/Guo_ISDNet_Integrating_Shallow_and_Deep_Networks_for_Efficient_Ultra-High_Resolution_CVPR_2022_paper.html>`_,
    official ``ISDHead`` (cedricgsh/ISDNet
    ``mmseg/models/decode_heads/isdhead.py``). From the normalised
    full-resolution image and the deep branch's context feature:

    1. the image's 2-level Laplacian residuals (:func:`laplacian_pyramid`;
       the coarser one bilinearly upsampled) are stacked to 6 channels and
       fed to the shallow net, giving 1/8 and 1/16 features;
    2. ``fuse16`` (RAF) fuses the 1/16 feature with the context, ``fuse8``
       fuses the 1/8 feature with that result;
    3. the main classifier (Dropout2d + :class:`SegmentationHead`) reads the
       1/8 fusion.

    Training adds (official ``forward(train_flag=True)``): auxiliary
    classifiers on the two RAF context features, the super-resolution
    decoder on the context with the reconstruction loss (MSE to the sum of
    the residuals, weight 0.1) and the feature-affinity loss (L1, weight 1.0)
    between the context and SR features. The official code names the
    auxiliary classifiers crosswise (``conv_seg_aux_16`` reads the 1/8
    feature); ours are named by the feature they read (``aux_head_8``,
    ``aux_head_16``) and the converter swaps the official names.

    The official initialisation is kept: mmseg's default
    ``Normal(std=0.01)`` override on ``conv_seg`` applies to the whole
    :class:`SegmentationHead` (including its BN weight), the other modules
    keep their construction-time init. The official ``Reducer`` option
    (``reduce=True``) is unused by every official config and not ported.

    Args:
        in_channels (int): Image channels. Default: 3.
        channels (int): Width C of the fusion. Default: 128.
        shallow_net (dict): Config of the shallow network; it must return
            ``(feat8, feat16)`` for a ``3 * num_laplacian_levels``-channel
            input. Default: :class:`STDCShallowNet` with 6 input channels.
        shallow_channels (Sequence[int]): Widths of ``feat8`` and ``feat16``.
            Default: (256, 512).
        num_laplacian_levels (int): Laplacian residual levels. Default: 2.
        raf_groups (int): Channel groups of the RAF affinity. Default: 16.
        sr_scales (Sequence[int]): SR decoder upsampling factors. Default:
            (4, 2, 2).
        recon_loss_weight (float): Weight of the reconstruction MSE.
            Default: 0.1.
        affinity_loss_weight (float): Weight of the feature-affinity L1.
            Default: 1.0.
        **kwargs: :class:`BaseDecodeHead` arguments (``num_classes``,
            ``dropout_ratio``, ``norm_cfg``, ``loss_decode`` ...); the
            auxiliary classifiers use the same ``loss_decode`` as the main
            one.

    Inputs: ``img`` (N, in_channels, H, W) and ``context`` (N, C, h, w)
    (the deep feature, h ~ H/32). Output logits (N, num_classes, H/8, W/8)
    (ceil).
    """

    def __init__(self,
                 in_channels: int = 3,
                 channels: int = 128,
                 shallow_net: ConfigType = dict(
                     type='STDCShallowNet', in_channels=6),
                 shallow_channels: Sequence[int] = (256, 512),
                 num_laplacian_levels: int = 2,
                 raf_groups: int = 16,
                 sr_scales: Sequence[int] = (4, 2, 2),
                 recon_loss_weight: float = 0.1,
                 affinity_loss_weight: float = 1.0,
                 **kwargs):
        super().__init__(in_channels, channels, **kwargs)
        shallow_net = dict(shallow_net)
        expected = in_channels * num_laplacian_levels
        if shallow_net.setdefault('in_channels', expected) != expected:
            raise ValueError(
                f'shallow_net.in_channels must be {expected} '
                f'({num_laplacian_levels} Laplacian levels x {in_channels} '
                f'image channels), got {shallow_net["in_channels"]}')
        if self.norm_cfg is not None and 'norm_cfg' not in shallow_net:
            shallow_net['norm_cfg'] = self.norm_cfg
        self.num_laplacian_levels = num_laplacian_levels
        self.recon_loss_weight = recon_loss_weight
        self.affinity_loss_weight = affinity_loss_weight
        cfgs = dict(
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)
        self.shallow_net = MODELS.build(shallow_net)
        self.fuse16 = RelationAwareFusion(channels, shallow_channels[1],
                                          raf_groups, **cfgs)
        self.fuse8 = RelationAwareFusion(channels, shallow_channels[0],
                                         raf_groups, **cfgs)
        self.sr_decoder = SRDecoder(channels, sr_scales, **cfgs)
        # replaces BaseDecodeHead's 1x1 conv_seg (cls_seg keeps the dropout)
        self.conv_seg = SegmentationHead(channels, channels // 2,
                                         self.out_channels, **cfgs)
        self.aux_head_8 = SegmentationHead(channels, channels // 2,
                                           self.out_channels, **cfgs)
        self.aux_head_16 = SegmentationHead(channels, channels // 2,
                                            self.out_channels, **cfgs)

    def _fuse(self,
              img: Tensor,
              context: Tensor,
              with_target: bool = False) -> Dict[str, Tensor]:
        residuals = laplacian_pyramid(img, self.num_laplacian_levels)
        size = residuals[0].shape[2:]
        residuals = [residuals[0]] + [
            resize(r, size=size, mode='bilinear', align_corners=False)
            for r in residuals[1:]
        ]
        shallow_input = torch.cat(residuals, dim=1)
        # the SR target (training only) is the sum of the residuals; at test
        # time they are released before the full-resolution shallow net runs
        out = dict(sr_target=sum(residuals)) if with_target else dict()
        del residuals
        feat8, feat16 = self.shallow_net(shallow_input)
        del shallow_input
        _, out['context16'], fused16 = self.fuse16(feat16, context)
        _, out['context8'], out['fused8'] = self.fuse8(feat8, fused16)
        return out

    def forward(self, img: Tensor, context: Tensor) -> Tensor:
        """Main logits (N, num_classes, H/8, W/8); see the class docstring."""
        return self.cls_seg(self._fuse(img, context)['fused8'])

    def forward_train(self, img: Tensor, context: Tensor) -> Dict[str, Tensor]:
        """All training outputs of the official ``forward(train_flag=True)``.

        Returns:
            dict[str, Tensor]: ``seg`` (main logits, 1/8), ``aux8`` and
            ``aux16`` (logits of the 1/8 and 1/16 RAF context features),
            ``sr`` (N, 3, 16h, 16w), ``sr_target`` (N, 3, H, W),
            and ``sr_feats`` (N, C, 16h, 16w).
        """
        out = self._fuse(img, context, with_target=True)
        sr_feats, sr = self.sr_decoder(context)
        return dict(
            seg=self.cls_seg(out['fused8']),
            aux8=self.aux_head_8(out['context8']),
            aux16=self.aux_head_16(out['context16']),
            sr=sr,
            sr_target=out['sr_target'],
            sr_feats=sr_feats)

    def predict(self, img: Tensor, context: Tensor,
                batch_img_metas: Sequence[dict],
                test_cfg: ConfigType) -> Tensor:
        """Main logits bilinearly resized to the input image's size.

        As the official ``EncoderDecoderRefine.encode_decode``: the 1/8
        logits are resized to ``img``'s (N, C, H, W) size with
        ``align_corners`` of this head.

        Returns:
            Tensor: Shape (N, num_classes, H, W).
        """
        return resize(
            self.forward(img, context),
            size=img.shape[2:],
            mode='bilinear',
            align_corners=self.align_corners)

    def loss(self, img: Tensor, context: Tensor,
             batch_data_samples: SampleList,
             train_cfg: ConfigType) -> Dict[str, Tensor]:
        """Losses of the main, auxiliary, SR and affinity outputs.

        Returns:
            dict[str, Tensor]: ``loss_ce``/``acc_seg`` (main; names follow
            ``loss_decode``), ``aux8.*``, ``aux16.*``, ``loss_recon`` and
            ``loss_affinity``.

        Raises:
            ValueError: If a label map holds ids outside the classes and
                ``ignore_index`` (the message names the file).
        """
        check_seg_labels(batch_data_samples, self.num_classes,
                         self.ignore_index)
        out = self.forward_train(img, context)
        losses = self.loss_by_feat(out['seg'], batch_data_samples)
        for name in ('aux8', 'aux16'):
            losses.update(
                add_prefix(
                    self.loss_by_feat(out[name], batch_data_samples), name))
        losses['loss_recon'] = image_recon_loss(out['sr'], out['sr_target'],
                                                self.recon_loss_weight)
        losses['loss_affinity'] = feature_affinity_loss(
            context, out['sr_feats'], self.affinity_loss_weight)
        return losses
