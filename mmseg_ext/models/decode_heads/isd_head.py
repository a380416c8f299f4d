"""ISDNet head: shallow branch, two RAF stages and the SR decoder.

`ISDNet: Integrating Shallow and Deep Networks for Efficient Ultra-high
Resolution Segmentation` (Guo et al., CVPR 2022). Reproduces ``ISDHead`` of
cedricgsh/ISDNet ``mmseg/models/decode_heads/isdhead.py`` (commit 7341335);
its building blocks are in :mod:`mmseg_ext.models.utils`
(``relation_aware_fusion``, ``sr_decoder``, ``laplacian_pyramid``), its extra
losses in :mod:`mmseg_ext.models.losses.isdnet_losses`;
``tools/model_converters/isdnet2mmseg.py`` maps the official checkpoints onto
these modules.
"""
from typing import Dict, NamedTuple, Sequence, Tuple, Union

import torch
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, SampleList, add_prefix
from torch import Tensor

from ..losses.isdnet_losses import feature_affinity_loss, image_recon_loss
from ..utils.laplacian_pyramid import laplacian_pyramid
from ..utils.relation_aware_fusion import RelationAwareFusion
from ..utils.sr_decoder import SegmentationHead, SRDecoder


class ISDHeadOutputs(NamedTuple):
    """What :meth:`ISDHead.forward` returns in training (a tuple).

    The outputs of the official ``forward(train_flag=True)`` plus the deep
    context the feature-affinity loss compares with.

    Attributes:
        seg (Tensor): Main logits (N, num_classes, H/8, W/8).
        aux8 (Tensor): Logits of the 1/8 RAF context feature.
        aux16 (Tensor): Logits of the 1/16 RAF context feature (at 1/8, as
            the RAF upsamples its context).
        sr (Tensor): SR image (N, 3, 16h, 16w).
        sr_target (Tensor): Sum of the Laplacian residuals (N, 3, H, W).
        sr_feats (Tensor): SR decoder features (N, C, 16h, 16w).
        context (Tensor): The deep feature (N, C, h, w) given as input.
    """
    seg: Tensor
    aux8: Tensor
    aux16: Tensor
    sr: Tensor
    sr_target: Tensor
    sr_feats: Tensor
    context: Tensor


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

    Raises:
        ValueError: If ``shallow_net.in_channels`` is not
            ``in_channels * num_laplacian_levels``.

    mmseg's head contract: ``inputs`` is the pair ``(img, context)``, the
    image (N, in_channels, H, W) and the deep feature (N, C, h, w),
    h ~ H/32; :meth:`forward` gives logits (N, num_classes, H/8, W/8)
    (ceil) in eval mode and :class:`ISDHeadOutputs` in training mode,
    :meth:`loss` = :meth:`forward` + :meth:`loss_by_feat`.
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

    def forward(
            self, inputs: Tuple[Tensor,
                                Tensor]) -> Union[Tensor, ISDHeadOutputs]:
        """Logits at 1/8, or every training output.

        Args:
            inputs (tuple[Tensor, Tensor]): The normalised image
                (N, in_channels, H, W) and the deep context (N, C, h, w).

        Returns:
            Tensor | ISDHeadOutputs: In eval mode the main logits
            (N, num_classes, H/8, W/8) (what tensor mode and
            :meth:`predict` use); in training mode the
            :class:`ISDHeadOutputs` that :meth:`loss_by_feat` consumes (the
            SR decoder runs only then).
        """
        img, context = inputs
        if not self.training:
            return self.cls_seg(self._fuse(img, context)['fused8'])
        out = self._fuse(img, context, with_target=True)
        sr_feats, sr = self.sr_decoder(context)
        return ISDHeadOutputs(
            seg=self.cls_seg(out['fused8']),
            aux8=self.aux_head_8(out['context8']),
            aux16=self.aux_head_16(out['context16']),
            sr=sr,
            sr_target=out['sr_target'],
            sr_feats=sr_feats,
            context=context)

    def predict(self, inputs: Tuple[Tensor,
                                    Tensor], batch_img_metas: Sequence[dict],
                test_cfg: ConfigType) -> Tensor:
        """Main logits bilinearly resized to the input image's size.

        As the official ``EncoderDecoderRefine.encode_decode``: the 1/8
        logits are resized to the (N, C, H, W) size of the image in
        ``inputs`` (not to ``img_shape``: a padded input keeps its padding
        until the segmentor crops it) with ``align_corners`` of this head.

        Args:
            inputs (tuple[Tensor, Tensor]): Image and context, as
                :meth:`forward`.
            batch_img_metas (Sequence[dict]): Unused (kept for mmseg's
                signature).
            test_cfg (dict): Unused.

        Returns:
            Tensor: Shape (N, num_classes, H, W).
        """
        return resize(
            self.forward(inputs),
            size=inputs[0].shape[2:],
            mode='bilinear',
            align_corners=self.align_corners)

    def loss_by_feat(self, seg_logits: ISDHeadOutputs,
                     batch_data_samples: SampleList) -> Dict[str, Tensor]:
        """Losses of the main, auxiliary, SR and affinity outputs.

        :meth:`loss` runs :meth:`forward` in training mode and passes its
        outputs here.

        Args:
            seg_logits (ISDHeadOutputs): The training outputs of
                :meth:`forward`.
            batch_data_samples (list[SegDataSample]): With ``gt_sem_seg``.

        Returns:
            dict[str, Tensor]: ``loss_ce``/``acc_seg`` (main; names follow
            ``loss_decode``), ``aux8.*``, ``aux16.*``, ``loss_recon`` and
            ``loss_affinity``.
        """
        out = seg_logits
        losses = super().loss_by_feat(out.seg, batch_data_samples)
        for name in ('aux8', 'aux16'):
            losses.update(
                add_prefix(
                    super().loss_by_feat(
                        getattr(out, name), batch_data_samples), name))
        losses['loss_recon'] = image_recon_loss(out.sr, out.sr_target,
                                                self.recon_loss_weight)
        losses['loss_affinity'] = feature_affinity_loss(
            out.context, out.sr_feats, self.affinity_loss_weight)
        return losses
