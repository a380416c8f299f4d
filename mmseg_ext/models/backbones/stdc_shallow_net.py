"""STDC-style shallow network of ISDNet's shallow branch."""
from typing import Sequence, Tuple

from mmcv.cnn import ConvModule
from mmengine.logging import print_log
from mmengine.model import BaseModule, ModuleList, Sequential
from mmengine.runner.checkpoint import CheckpointLoader, load_state_dict
from mmseg.models.backbones.stdc import STDCModule
from mmseg.registry import MODELS
from torch import Tensor

from ..ckpt_convert.engine import strip_module_prefix
from ..ckpt_convert.stdc import expand_first_conv, stdc_official_to_stages


@MODELS.register_module()
class STDCShallowNet(BaseModule):
    """Shallow network of ISDNet: the stem and first two STDC1 stages.

    The shallow branch of `ISDNet (CVPR 2022)
    <https://openaccess.thecvf.com/content/CVPR2022/html/Guo_ISDNet_Integrating_Shallow_and_Deep_Networks_for_Efficient_Ultra-High_Resolution_CVPR_2022_paper.html>`_,
    ``ShallowNet(in_channels=6)`` of
    cedricgsh/ISDNet ``mmseg/models/decode_heads/stdc_head.py``: two 3x3
    stride-2 conv-BN-ReLU (32, 64 channels) and two STDC stages of two
    ``cat`` bottlenecks with four convs each (256, 512 channels), i.e. the
    first four ``stages`` of mmseg's ``STDCNet('STDCNet1')``. It is built
    from mmseg's ``ConvModule`` and ``STDCModule`` (the official
    ``ConvX``/``CatBottleneck`` compute the same), so its state dict has
    mmseg's STDC layout and mmseg's STDC1 ImageNet checkpoint loads directly.

    The official ``ConvX`` hard-codes SyncBN while its depthwise downsample
    uses plain BN; here every norm follows ``norm_cfg``.

    Initialisation: without ``init_cfg``, ConvModule's Kaiming-normal
    (fan_out) convs and unit BN, as the official ``init_params``. With
    ``init_cfg=dict(type='Pretrained', checkpoint=...)`` an STDC1 ImageNet
    checkpoint is loaded non-strictly (mmseg ``stages.*`` or STDC-Seg
    ``features.*`` layout; keys beyond the two stages are ignored) and its
    3-channel stem is duplicated over ``in_channels`` as the official code
    does (:func:`expand_first_conv`).

    Args:
        in_channels (int): Input channels (6: two stacked RGB Laplacian
            residuals). Default: 6.
        channels (Sequence[int]): Widths of the two stem convs and the two
            STDC stages. Default: (32, 64, 256, 512).
        num_convs (int): Convs per STDC module. Default: 4.
        bottleneck_type (str): ``'cat'`` (official) or ``'add'``.
        norm_cfg (dict): Norm layer config. Default: ``dict(type='BN')``.
        act_cfg (dict): Activation config. Default: ``dict(type='ReLU')``.
        init_cfg (dict, optional): Initialisation config, see above.

    Input: (N, in_channels, H, W). Output: ``(feat8, feat16)`` of shapes
    (N, channels[2], H/8, W/8) and (N, channels[3], H/16, W/16) (ceil).
    """

    def __init__(self,
                 in_channels: int = 6,
                 channels: Sequence[int] = (32, 64, 256, 512),
                 num_convs: int = 4,
                 bottleneck_type: str = 'cat',
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU'),
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if len(channels) != 4:
            raise ValueError(f'channels must have 4 entries (stem 1/2, stem '
                             f'1/4, stage 1/8, stage 1/16), got {channels}')
        self.in_channels = in_channels
        self.channels = tuple(channels)
        self.stages = ModuleList()
        prev = in_channels
        for width in channels[:2]:
            self.stages.append(
                ConvModule(
                    prev,
                    width,
                    3,
                    stride=2,
                    padding=1,
                    norm_cfg=norm_cfg,
                    act_cfg=act_cfg))
            prev = width
        for width in channels[2:]:
            self.stages.append(
                Sequential(
                    STDCModule(
                        prev,
                        width,
                        2,
                        norm_cfg,
                        act_cfg,
                        num_convs=num_convs,
                        fusion_type=bottleneck_type),
                    STDCModule(
                        width,
                        width,
                        1,
                        norm_cfg,
                        act_cfg,
                        num_convs=num_convs,
                        fusion_type=bottleneck_type)))
            prev = width

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        for stage in self.stages[:2]:
            x = stage(x)
        feat8 = self.stages[2](x)
        feat16 = self.stages[3](feat8)
        return feat8, feat16

    def init_weights(self):
        """Load ImageNet STDC weights (stem duplicated) or use default init.

        Raises:
            KeyError / ValueError: From :func:`expand_first_conv` when the
                checkpoint has no usable first conv.
        """
        cfg = self.init_cfg
        if not (isinstance(cfg, dict) and cfg.get('type') == 'Pretrained'):
            super().init_weights()
            return
        ckpt = CheckpointLoader.load_checkpoint(
            cfg['checkpoint'], map_location='cpu')
        state_dict = ckpt.get('state_dict', ckpt.get('model', ckpt))
        prefix = cfg.get('prefix')
        if prefix:
            prefix = prefix if prefix.endswith('.') else prefix + '.'
            state_dict = {
                k[len(prefix):]: v
                for k, v in state_dict.items() if k.startswith(prefix)
            }
        state_dict = stdc_official_to_stages(strip_module_prefix(state_dict))
        state_dict = expand_first_conv(state_dict, self.in_channels)
        own = self.state_dict()
        # the ImageNet STDC1 has a third stage and a classifier: only the
        # keys of this net are loaded (the official load is non-strict too)
        state_dict = {k: v for k, v in state_dict.items() if k in own}
        load_state_dict(self, state_dict, strict=False, logger='current')
        print_log(
            f'STDCShallowNet: loaded {len(state_dict)}/{len(own)} tensors '
            f'from {cfg["checkpoint"]}',
            logger='current')
        self._is_init = True
