"""The deep-stem, dilated-conv2 ResNet of the official SFNet code."""
from typing import Sequence

from mmseg.models.backbones import ResNetV1c
from mmseg.registry import MODELS


@MODELS.register_module()
class SFResNet(ResNetV1c):
    """ResNet variant 'D' of SFNet (`arXiv 2002.10120
    <https://arxiv.org/abs/2002.10120>`_).

    Reproduces ``network/resnet_d.py`` + ``AlignNetResNet(variant='D')`` of
    lxtGH/SFSegNets:

    * deep stem 3x3(3->64, s2)-BN-ReLU-3x3(64->64)-BN-ReLU-3x3(64->128)-BN-
      ReLU, max-pool, i.e. mmseg's ResNetV1c with ``stem_channels=128``;
      layer1 then starts from 128 channels, so even ResNet-18's first block
      has a projection shortcut;
    * every block of a dilated stage gets its dilation on ``conv2`` only and
      **keeps its stride**: the default ``strides=(1, 2, 2, 2)``,
      ``dilations=(1, 1, 2, 4)`` give output stride 32, not 8. For Bottleneck
      blocks this equals mmseg's dilation with ``contract_dilation=False``; for
      BasicBlock (R-18/34) mmseg dilates ``conv1`` instead, which is why this
      class re-applies the dilation itself.

    Args:
        depth (int): 18, 34, 50, 101 or 152.
        stem_channels (int): Stem output width. Default: 128 (official).
        strides (Sequence[int]): Stride of each stage. Default: (1, 2, 2, 2).
        dilations (Sequence[int]): Dilation of each stage's conv2.
            Default: (1, 1, 2, 4).
        zero_init_residual (bool): Start the last BN of every block at
            gamma=0 (mmseg's default). Default: False, as the official
            ``ResNet.__init__`` (``network/resnet_d.py``): every conv
            kaiming-normal fan_out (relu gain, std sqrt(2 / fan_out)), every
            BN gamma=1, beta=0 -- mmseg's ``Kaiming``/``Constant``
            ``init_cfg`` of :class:`ResNet` without the zero-init override.
        **kwargs: Passed to :class:`mmseg.models.backbones.ResNetV1c`
            (``out_indices``, ``norm_cfg``, ``init_cfg``, ...).

    Input (N, 3, H, W); outputs the selected stages at strides 4, 8, 16, 32
    with widths (64, 128, 256, 512) x block expansion.
    """

    def __init__(self,
                 depth: int,
                 stem_channels: int = 128,
                 strides: Sequence[int] = (1, 2, 2, 2),
                 dilations: Sequence[int] = (1, 1, 2, 4),
                 zero_init_residual: bool = False,
                 **kwargs):
        if len(dilations) != len(strides):
            raise ValueError(
                f'strides {tuple(strides)} and dilations {tuple(dilations)} '
                'must have one entry per stage')
        super().__init__(
            depth=depth,
            stem_channels=stem_channels,
            strides=strides,
            dilations=(1, ) * len(strides),
            zero_init_residual=zero_init_residual,
            **kwargs)
        self.conv2_dilations = tuple(dilations)
        for layer_name, dilation in zip(self.res_layers, dilations):
            if dilation == 1:
                continue
            for block in getattr(self, layer_name):
                block.conv2.dilation = (dilation, dilation)
                block.conv2.padding = (dilation, dilation)
