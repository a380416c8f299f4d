"""Fusion head of SFNet."""
from typing import Sequence

import torch
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import OptConfigType
from torch import Tensor

from ..utils.weight_init import torch_default_init_


@MODELS.register_module()
class SFHead(BaseDecodeHead):
    """Fusion head of SFNet (`arXiv 2002.10120
    <https://arxiv.org/abs/2002.10120>`_).

    The tail of ``UperNetAlignHead`` (lxtGH/SFSegNets,
    ``network/sfnet_resnet.py``): every :class:`SFNeck` level is resized to the
    finest with ``align_corners=True``, concatenated, passed through a 3x3
    conv-BN-ReLU (``conv_last[0]``) and a 1x1 classifier with bias. The
    official head has no dropout, hence ``dropout_ratio=0`` by default (the
    MMSeg-SFNet reproduction from the OpenMMLab algorithm challenge 2021
    used ``FCNHead``, which adds Dropout2d(0.1); we follow the official
    code), and the logits are upsampled to the label/image size with
    ``align_corners=True``.

    Args:
        in_channels (Sequence[int]): Widths of the fused levels (all
            ``fpn_dim``), fine to coarse.
        channels (int): Width of the fusion conv (``fpn_dim``).
        in_index (Sequence[int]): Neck outputs to fuse. Default: (0, 1, 2, 3).
        init_cfg (dict | list | None): Initialisation config. None (default)
            keeps the official rule, see :meth:`init_weights`.
        **kwargs: :class:`BaseDecodeHead` arguments (``num_classes``,
            ``loss_decode``, ``sampler``, ...).

    Input: the neck's tuple; output logits (N, num_classes, H/4, W/4).
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 channels: int,
                 in_index: Sequence[int] = (0, 1, 2, 3),
                 dropout_ratio: float = 0.0,
                 align_corners: bool = True,
                 init_cfg: OptConfigType = None,
                 **kwargs):
        super().__init__(
            in_channels,
            channels,
            in_index=list(in_index),
            input_transform='multiple_select',
            dropout_ratio=dropout_ratio,
            align_corners=align_corners,
            init_cfg=init_cfg,
            **kwargs)
        self.fusion_conv = ConvModule(
            sum(self.in_channels),
            channels,
            3,
            padding=1,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)

    def init_weights(self) -> None:
        """Initialise as the official ``conv_last``: PyTorch's defaults.

        ``UperNetAlignHead.conv_last`` (lxtGH/SFSegNets
        ``network/sfnet_resnet.py``; PFNet's ``UperNetAlignHeadMaxAvgpool``
        likewise) is never initialised: the fusion conv and the classifier
        keep ``reset_parameters`` (weight and bias U(-b, b),
        b = 1/sqrt(fan_in)), BN gamma=1, beta=0 -- not ``ConvModule``'s
        kaiming-normal fan_out nor mmseg's normal(0, 0.01) ``conv_seg``. With
        an ``init_cfg`` given, that config rules instead.
        """
        super().init_weights()
        if self.init_cfg is None:
            torch_default_init_(self)

    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        feats = self._transform_inputs(inputs)
        size = feats[0].shape[2:]
        feats = [feats[0]] + [
            resize(
                f,
                size=size,
                mode='bilinear',
                align_corners=True,
                warning=False) for f in feats[1:]
        ]
        return self.cls_seg(self.fusion_conv(torch.cat(feats, dim=1)))
