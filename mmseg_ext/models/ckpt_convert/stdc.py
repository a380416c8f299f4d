"""STDC1 key map: STDC-Seg ``features.*`` -> mmseg ``STDCNet`` ``stages.*``.

The one place that renames STDC weights, used by the ISDNet converter
(:mod:`.isdnet`, the official ``refine_head.stdc_net``), by its
``--stdc-imagenet`` mode (:func:`convert_stdc_imagenet`) and by
:class:`~mmseg_ext.models.backbones.STDCShallowNet`'s ``init_weights``.

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

from .engine import PARAM, ConversionError, unwrap_state_dict

# index in STDC-Seg's ``STDCNet813.features`` (and the official ISDNet
# ``ShallowNet.features``) -> index in mmseg's ``STDCNet.stages``
STDC1_FEATURE_TO_STAGE = ('0', '1', '2.0', '2.1', '3.0', '3.1', '4.0', '4.1')
# the inside of one ``ConvX`` / ``CatBottleneck`` block
STDC_BLOCK_KEY = (r'(?:(?:conv_list\.\d+\.(?:conv|bn))|avd_layer\.[01]|conv|'
                  r'bn)\.' + PARAM)
# the stem and first two stages: what ISDNet's shallow net keeps
SHALLOW_STAGES = re.compile(r'stages\.(?:[01]|[23]\.[01])\.')


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
    out = OrderedDict()
    for key, value in state_dict.items():
        m = re.fullmatch(r'features\.(\d+)\.(.*)', key)
        if m is None or int(m[1]) >= len(STDC1_FEATURE_TO_STAGE):
            out[key] = value
        else:
            out[stdc_block_key(int(m[1]), m[2])] = value
    return out


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


def convert_stdc_imagenet(state_dict: Dict,
                          in_channels: int = 6) -> 'OrderedDict':
    """STDC1 ImageNet weights -> :class:`STDCShallowNet` weights.

    Accepts STDC-Seg ``features.*`` or mmseg ``stages.*`` keys; keeps the
    stem and the first two stages and duplicates the first conv over
    ``in_channels`` (official ``ShallowNet.init_weight``).

    Args:
        state_dict (dict): ImageNet STDC1 weights (possibly under
            ``'state_dict'`` or ``'model'``).
        in_channels (int): Input channels of the shallow net. Default: 6.

    Returns:
        OrderedDict: ``stages.{0,1,2.*,3.*}.*`` tensors.

    Raises:
        ConversionError: If no shallow-net key is found or the first conv
            cannot be tiled over ``in_channels``.
    """
    renamed = stdc_official_to_stages(
        unwrap_state_dict(state_dict, wrappers=('state_dict', 'model')))
    kept = OrderedDict(
        (k, v) for k, v in renamed.items() if SHALLOW_STAGES.match(k))
    if not kept:
        raise ConversionError(
            'no STDC1 stem/stage keys (features.0-5.* or stages.0-3.*) '
            f'found; keys start with {list(renamed)[:5]}')
    try:
        return expand_first_conv(kept, in_channels)
    except (KeyError, ValueError) as e:
        raise ConversionError(str(e)) from e
