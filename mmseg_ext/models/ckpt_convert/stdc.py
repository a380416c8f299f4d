"""STDC1 key map: STDC-Seg ``features.*`` -> mmseg ``STDCNet`` ``stages.*``.

The one place that renames STDC weights, used by the ISDNet converter
(:mod:`.isdnet`, the official ``refine_head.stdc_net``) and by
:func:`~mmseg_ext.models.backbones.stdc_shallow_net.checkpoint_filter_fn`,
the one conversion of STDC1 ImageNet weights for ISDNet's shallow net
(``init_weights``, ``stdc2mmseg.py`` and ``isdnet2mmseg.py
--stdc-imagenet``).

Source: STDC-Seg (MichaelFan01/STDC-Seg) ``nets/stdcnet.py``
``STDCNet813``, whose ``features`` list the official ISDNet
(cedricgsh/ISDNet) ``ShallowNet`` reuses; mmseg 1.x
``mmseg/models/backbones/stdc.py`` ``STDCNet('STDCNet1')``.
"""
import re
from collections import OrderedDict
from typing import Dict

import torch
from torch import Tensor

from .engine import PARAM

# index in STDC-Seg's ``STDCNet813.features`` (and the official ISDNet
# ``ShallowNet.features``) -> index in mmseg's ``STDCNet.stages``
STDC1_FEATURE_TO_STAGE = ('0', '1', '2.0', '2.1', '3.0', '3.1', '4.0', '4.1')
# the inside of one ``ConvX`` / ``CatBottleneck`` block
STDC_BLOCK_KEY = (r'(?:(?:conv_list\.\d+\.(?:conv|bn))|avd_layer\.[01]|conv|'
                  r'bn)\.' + PARAM)
# the stem and first two stages: what ISDNet's shallow net keeps
SHALLOW_STAGES = re.compile(r'stages\.(?:[01]|[23]\.[01])\.')
# what it leaves out of an ImageNet STDC1: the third stage (``features.6-7``
# = ``stages.4.*``), ``conv_last`` and the classifier (``fc``, ``bn``,
# ``linear``); keys in the ``stages.*`` layout
STDC1_LEFT_OUT = re.compile(r'stages\.4\.[01]\..+|(?:conv_last\.(?:conv|bn)|'
                            r'fc|bn|linear)\.' + PARAM)
# STDCNet813 registers its stages twice: ``x2/x4/x8/x16/x32`` are
# ``nn.Sequential`` slices of ``features``, which keep its indices
STDC1_ALIAS = re.compile(r'x(?:2|4|8|16|32)\.0\.(?P<i>\d+)\.(?P<rest>.+)')


def stdc_block_key(index: int, rest: str) -> str:
    """``features.{index}.{rest}`` -> ``stages.{stage}.{rest'}``.

    Inside the block, ``conv_list`` -> ``layers`` and ``avd_layer.0/1`` ->
    ``downsample.conv/bn`` (``ConvX``'s ``conv``/``bn`` already match
    ``ConvModule``).

    Args:
        index (int): Index in ``features`` (0-7).
        rest (str): The key after ``features.{index}.``.

    Returns:
        str: The ``stages.*`` key.
    """
    rest = rest.replace('conv_list.', 'layers.')
    rest = re.sub(r'^avd_layer\.0\.', 'downsample.conv.', rest)
    rest = re.sub(r'^avd_layer\.1\.', 'downsample.bn.', rest)
    return f'stages.{STDC1_FEATURE_TO_STAGE[index]}.{rest}'


def stdc_official_to_stages(state_dict: Dict[str, Tensor]) -> 'OrderedDict':
    """Rename STDC-Seg ``features.*`` keys to the ``stages.*`` layout.

    Covers the official ISDNet ``ShallowNet`` and STDC-Seg's ImageNet
    ``STDCNet813`` (``STDCNet813M_73.91.tar``) keys:
    ``features.{i}`` -> ``stages.{0, 1, 2.0, 2.1, 3.0, 3.1, 4.0, 4.1}``
    (see :func:`stdc_block_key`). Keys outside ``features.*`` (classifier,
    ``conv_last``...) and keys already in the ``stages.*`` layout pass
    through unchanged.

    Args:
        state_dict (dict[str, Tensor]): Source weights.

    Returns:
        OrderedDict: Renamed weights.
    """
    return OrderedDict(
        (stdc_key_to_stages(k), v) for k, v in state_dict.items())


def stdc_key_to_stages(key: str) -> str:
    """One key of :func:`stdc_official_to_stages`: ``features.{i}.*`` (i <
    8) renamed by :func:`stdc_block_key`, any other key unchanged."""
    m = re.fullmatch(r'features\.(\d+)\.(.*)', key)
    if m is None or int(m[1]) >= len(STDC1_FEATURE_TO_STAGE):
        return key
    return stdc_block_key(int(m[1]), m[2])


def expand_first_conv(state_dict: Dict[str, Tensor],
                      in_channels: int,
                      key: str = 'stages.0.conv.weight') -> 'OrderedDict':
    """Tile a 3-channel first conv over ``in_channels`` input channels.

    The official ``ShallowNet.init_weight`` loads the RGB ImageNet STDC
    weights into the 6-channel Laplacian-residual stem with
    ``torch.cat([v, v], dim=1)``: the RGB filters are *duplicated*, not
    halved, so a stem response to a residual pair is twice the RGB
    response. ``in_channels = 3k`` repeats the filters ``k`` times.

    Args:
        state_dict (dict[str, Tensor]): Weights in the ``stages.*`` layout.
        in_channels (int): Input channels of the target stem.
        key (str): Key of the first conv weight. Default:
            ``'stages.0.conv.weight'``.

    Returns:
        OrderedDict: A copy with ``key`` of shape (O, in_channels, kh, kw).

    Raises:
        KeyError: If ``key`` is missing.
        ValueError: If ``in_channels`` is not a multiple of the stored
            input channels.
    """
    if key not in state_dict:
        raise KeyError(f'{key} not in the STDC state dict (keys start with '
                       f'{sorted(state_dict)[:3]})')
    out = OrderedDict(state_dict)
    weight = out[key]
    if weight.shape[1] == in_channels:
        return out
    if in_channels % weight.shape[1]:
        raise ValueError(
            f'cannot tile {key} with {weight.shape[1]} input channels over '
            f'{in_channels} channels')
    out[key] = torch.cat([weight] * (in_channels // weight.shape[1]), dim=1)
    return out
