"""STDC-style shallow network of ISDNet's shallow branch, and the one
conversion of STDC1 ImageNet weights for it (:func:`checkpoint_filter_fn`)."""
import logging
from collections import OrderedDict
from typing import Dict, Sequence, Tuple

import torch
from mmcv.cnn import ConvModule
from mmengine.logging import print_log
from mmengine.model import BaseModule, ModuleList, Sequential
from mmengine.runner.checkpoint import (CheckpointLoader,
                                        _load_checkpoint_with_prefix,
                                        load_state_dict)
from mmseg.models.backbones.stdc import STDCModule
from mmseg.registry import MODELS
from torch import Tensor

from ..ckpt_convert.engine import (ConversionError, ConversionResult,
                                   unwrap_state_dict)
from ..ckpt_convert.stdc import (SHALLOW_STAGES, STDC1_ALIAS, STDC1_LEFT_OUT,
                                 expand_first_conv, stdc_key_to_stages)


def checkpoint_filter_fn(state_dict: Dict,
                         in_channels: int = 6) -> ConversionResult:
    """STDC1 ImageNet weights -> :class:`STDCShallowNet` weights, checked.

    The one conversion of these weights: ``init_weights`` loads through it
    and so do the converters (``tools/model_converters/stdc2mmseg.py``,
    ``isdnet2mmseg.py --stdc-imagenet``), which print its report.

    Accepted layouts: STDC-Seg's ``STDCNet813M_73.91.tar``
    (MichaelFan01/STDC-Seg ``nets/stdcnet.py``, ``features.*``, loaded by
    the official ISDNet ``ShallowNet.init_weight``) and mmseg's conversion
    of it (``stdc1_20220308-5368626c.pth``, ``stages.*``), under
    ``state_dict``/``model`` or flat, ``module.`` prefixes stripped.
    ``features.{i}`` is renamed by
    :mod:`mmseg_ext.models.ckpt_convert.stdc`; the
    ``x2/x4/x8/x16/x32`` aliases (the same tensors registered twice) are
    dropped, or renamed when only the alias was saved; the third stage,
    ``conv_last`` and the classifier are dropped; the (32, 3, 3, 3) stem is
    duplicated to (32, in_channels, 3, 3) as the official code does
    (:func:`~mmseg_ext.models.ckpt_convert.stdc.expand_first_conv`).

    Args:
        state_dict (dict): The checkpoint or its state dict.
        in_channels (int): Input channels of the shallow net. Default: 6.

    Returns:
        ConversionResult: ``stages.{0,1,2.*,3.*}.*`` tensors (unknown keys
        kept under their names), the unknown keys and the dropped keys.

    Raises:
        ConversionError: If the input holds no state dict of tensors, an
            alias holds values different from its ``features`` tensor, no
            stem/stage key is present, or the stem cannot be tiled over
            ``in_channels``.
    """
    src = unwrap_state_dict(state_dict, wrappers=('state_dict', 'model'))
    primary = {
        stdc_key_to_stages(k): v
        for k, v in src.items() if not STDC1_ALIAS.fullmatch(k)
    }
    out, unknown, dropped = OrderedDict(), [], []
    for key, value in src.items():
        alias = STDC1_ALIAS.fullmatch(key)
        if alias:
            canonical = f'features.{alias["i"]}.{alias["rest"]}'
            same = primary.get(stdc_key_to_stages(canonical))
            if same is not None:
                if not torch.equal(same, value):
                    raise ConversionError(
                        f'{key} should alias {canonical} (STDCNet813 '
                        'registers its stages twice) but holds different '
                        'values')
                dropped.append(key)
                continue
            key = canonical  # only the alias was saved
        new_key = stdc_key_to_stages(key)
        if STDC1_LEFT_OUT.fullmatch(new_key):
            dropped.append(key)
            continue
        if not SHALLOW_STAGES.match(new_key):
            unknown.append(new_key)
        out[new_key] = value
    if len(out) == len(unknown):
        raise ConversionError(
            'no STDC1 stem/stage keys (features.0-5.* or stages.0-3.*) '
            f'found; keys start with {list(src)[:5]}')
    try:
        out = expand_first_conv(out, in_channels)
    except (KeyError, ValueError) as e:
        raise ConversionError(str(e)) from e
    return ConversionResult(out, unknown, dropped)


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
    does (:func:`checkpoint_filter_fn`).

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

        The file (the ``prefix`` sub-dict if ``init_cfg`` names one, as
        mmengine's ``PretrainedInit``) goes through
        :func:`checkpoint_filter_fn`; its unknown keys are logged and
        skipped, like the keys beyond the two stages (the official load is
        non-strict too).

        Raises:
            ConversionError: (a ``ValueError``) as
                :func:`checkpoint_filter_fn`, e.g. when the checkpoint has
                no first conv that tiles over ``in_channels``.
        """
        cfg = self.init_cfg
        if not (isinstance(cfg, dict) and cfg.get('type') == 'Pretrained'):
            super().init_weights()
            return
        if cfg.get('prefix'):
            ckpt = _load_checkpoint_with_prefix(
                cfg['prefix'], cfg['checkpoint'], map_location='cpu')
        else:
            ckpt = CheckpointLoader.load_checkpoint(
                cfg['checkpoint'], map_location='cpu')
        state_dict, unknown, _ = checkpoint_filter_fn(ckpt, self.in_channels)
        if unknown:
            print_log(
                f'STDCShallowNet: {len(unknown)} keys of '
                f'{cfg["checkpoint"]} are no STDC1 weights and were '
                f'skipped: {unknown[:5]}',
                logger='current',
                level=logging.WARNING)
        own = self.state_dict()
        state_dict = {k: v for k, v in state_dict.items() if k in own}
        load_state_dict(self, state_dict, strict=False, logger='current')
        print_log(
            f'STDCShallowNet: loaded {len(state_dict)}/{len(own)} tensors '
            f'from {cfg["checkpoint"]}',
            logger='current')
        self._is_init = True
