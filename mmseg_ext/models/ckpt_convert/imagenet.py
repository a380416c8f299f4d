"""ImageNet key maps: the official backbones' weights -> our backbones.

Two weight files the papers' code loads before training, each converted to
the state dict of the backbone that our configs build (no ``backbone.``
prefix, so a config names the file in the backbone's
``init_cfg=dict(type='Pretrained', checkpoint=...)``):

* **Deep-stem ResNet** (``resnet18-deep-inplane128.pth``,
  ``resnet50-deep.pth``, ``resnet101-deep.pth``; lxtGH/SFSegNets and
  lxtGH/PFSegNets ``network/resnet_d.py`` ``ResNet``, which loads them
  strictly) -> :class:`~mmseg_ext.models.backbones.SFResNet`. The official
  stem is ``conv1 = Sequential(conv3x3, BN, ReLU, conv3x3, BN, ReLU,
  conv3x3)`` followed by ``bn1`` (128 channels); ours is
  ``stem.{0,1,3,4,6}`` + ``stem.7``. ``layer{1-4}`` keep their names and
  the ImageNet classifier ``fc.*`` is dropped and listed. The older
  ``conv1/bn1/conv2/bn2/conv3/bn3`` deep-stem layout (CSAIL-style
  releases) is recognised too.
* **STDC1** (``STDCNet813M_73.91.tar``, MichaelFan01/STDC-Seg
  ``nets/stdcnet.py`` ``STDCNet813``; loaded by the official ISDNet
  ``ShallowNet.init_weight``) -> :class:`STDCShallowNet`: ``features.0-5``
  renamed by :mod:`.stdc`, the stem duplicated over the 6 input channels as
  the official code does; the ``x2/x4/x8/x16/x32`` aliases (the same
  tensors registered twice), the third stage ``features.6-7``,
  ``conv_last`` and the classifier (``fc``, ``bn``, ``linear``) are dropped
  and listed.
"""
import re
from collections import OrderedDict
from typing import Dict

import torch

from .cli import ConverterSpec, build_parser, run
from .engine import (PARAM, ConversionError, ConversionResult, apply_rules,
                     compile_rules, unwrap_state_dict)
from .stdc import SHALLOW_STAGES, expand_first_conv, stdc_official_to_stages

WRAPPERS = ('state_dict', 'model')
_LAYER = (r'(?P<l>layer[1-4]\.\d+\.(?:conv[1-3]|bn[1-3]|downsample\.[01]))\.' +
          PARAM)
# official network/resnet_d.py: conv1 = Sequential(...), bn1 after conv1.6
RESNET_D_RULES = compile_rules([
    (r'conv1\.(?P<i>[01346])\.' + PARAM, r'stem.\g<i>.\g<p>'),
    (r'bn1\.' + PARAM, r'stem.7.\g<p>'),
    (_LAYER, r'\g<l>.\g<p>'),
])
# the three-conv deep stem with flat names (conv1 bn1 conv2 bn2 conv3 bn3)
_FLAT_STEM = {'conv1': 0, 'bn1': 1, 'conv2': 3, 'bn2': 4, 'conv3': 6, 'bn3': 7}
RESNET_FLAT_STEM_RULES = compile_rules([
    (r'(?P<m>conv[1-3]|bn[1-3])\.' + PARAM,
     lambda m: f'stem.{_FLAT_STEM[m["m"]]}.{m["p"]}'),
    (_LAYER, r'\g<l>.\g<p>'),
])
RESNET_CLASSIFIER = re.compile(r'fc\.(?:weight|bias)')
# blocks per stage of the official resnet18/50/101
RESNET_DEPTHS = {(2, 2, 2, 2): 18, (3, 4, 6, 3): 50, (3, 4, 23, 3): 101}

STDC_CLASSIFIER = re.compile(r'(?:conv_last\.(?:conv|bn)|fc|bn|linear)\.' +
                             PARAM)
_STDC_ALIAS = re.compile(r'x(?:2|4|8|16|32)\.0\.(?P<i>\d+)\.(?P<rest>.+)')


def resnet_depth(state_dict: Dict) -> int:
    """Depth (18/50/101) from the number of blocks in each ``layer*``.

    Raises:
        ConversionError: If the block counts are not those of ResNet-18, -50
            or -101.
    """
    blocks = []
    for stage in range(1, 5):
        ids = {
            int(m[1])
            for k in state_dict
            for m in [re.match(rf'layer{stage}\.(\d+)\.', k)] if m
        }
        blocks.append(len(ids))
    depth = RESNET_DEPTHS.get(tuple(blocks))
    if depth is None:
        raise ConversionError(
            f'not a ResNet-18/50/101: blocks per layer {tuple(blocks)} '
            f'(expected one of {sorted(RESNET_DEPTHS)})')
    return depth


def convert_resnet_d(state_dict: Dict) -> ConversionResult:
    """Official deep-stem ImageNet ResNet -> :class:`SFResNet` state dict.

    Args:
        state_dict (dict): ``resnet{18,50,101}-deep*.pth`` (flat, or under
            ``state_dict``/``model``; ``module.`` prefixes stripped).

    Returns:
        ConversionResult: ``stem.*``/``layer*`` tensors (shapes unchanged),
        the unknown source keys, and the dropped classifier keys
        (``fc.weight`` (1000, C), ``fc.bias`` (1000,)).

    Raises:
        ConversionError: If there is no deep stem (``conv1.0.weight`` or
            ``conv1.weight`` + ``conv3.weight`` of 128 output channels) or
            the block counts are not ResNet-18/50/101.
    """
    src = unwrap_state_dict(state_dict, wrappers=WRAPPERS)
    if 'conv1.0.weight' in src:
        rules = RESNET_D_RULES
    elif 'conv1.weight' in src and 'conv3.weight' in src:
        rules = RESNET_FLAT_STEM_RULES
    else:
        raise ConversionError(
            'no deep stem (expected conv1.0.weight as in the official '
            'network/resnet_d.py, or conv1/conv2/conv3.weight); keys start '
            f'with {list(src)[:5]}')
    resnet_depth(src)
    return apply_rules(src, rules, RESNET_CLASSIFIER)


def convert_stdc813(state_dict: Dict,
                    in_channels: int = 6) -> ConversionResult:
    """STDC-Seg ``STDCNet813`` ImageNet weights -> :class:`STDCShallowNet`.

    Args:
        state_dict (dict): ``STDCNet813M_73.91.tar`` (its ``state_dict``).
        in_channels (int): Input channels of the shallow net (6: two RGB
            Laplacian residuals); the (32, 3, 3, 3) stem conv is tiled to
            (32, in_channels, 3, 3). Default: 6.

    Returns:
        ConversionResult: ``stages.{0,1,2.*,3.*}.*`` tensors, the unknown
        source keys, and the dropped keys (``x*`` aliases, ``features.6-7``,
        ``conv_last``, ``fc``, ``bn``, ``linear``).

    Raises:
        ConversionError: If an ``x*`` alias holds values different from its
            ``features`` tensor, no stem/stage key is present, or the stem
            cannot be tiled over ``in_channels``.
    """
    src = unwrap_state_dict(state_dict, wrappers=WRAPPERS)
    kept, dropped = OrderedDict(), []
    for key, value in src.items():
        m = _STDC_ALIAS.fullmatch(key)
        if m:
            canonical = f'features.{m["i"]}.{m["rest"]}'
            if canonical in src and not torch.equal(src[canonical], value):
                raise ConversionError(
                    f'{key} should alias {canonical} (STDCNet813 registers '
                    'its stages twice) but holds different values')
            if canonical in src:
                dropped.append(key)
                continue
            key = canonical
        if STDC_CLASSIFIER.fullmatch(key) or re.match(r'features\.[67]\.',
                                                      key):
            dropped.append(key)
            continue
        kept[key] = value
    renamed = stdc_official_to_stages(kept)
    out, unknown = OrderedDict(), []
    for key, value in renamed.items():
        if not SHALLOW_STAGES.match(key):
            unknown.append(key)
        out[key] = value
    if len(out) == len(unknown):
        raise ConversionError(
            'no STDC1 stem/stage keys (features.0-5.*) found; keys start '
            f'with {list(src)[:5]}')
    try:
        out = expand_first_conv(out, in_channels)
    except (KeyError, ValueError) as e:
        raise ConversionError(str(e)) from e
    return ConversionResult(out, unknown, dropped)


RESNET_D_SPEC = ConverterSpec(
    converter='tools/model_converters/resnet_d2mmseg.py',
    description='Convert the official deep-stem ImageNet ResNet '
    '(resnet18-deep-inplane128.pth, resnet50-deep.pth, resnet101-deep.pth '
    'of lxtGH/SFSegNets and lxtGH/PFSegNets) to SFResNet weights.',
    convert=convert_resnet_d,
    source_layout='lxtGH/SFSegNets network/resnet_d.py ResNet (ImageNet)',
    wrappers=WRAPPERS,
    dropped_note='dropped {n} ImageNet classifier keys: {keys}',
    config_prefix='backbone.')


def stdc813_spec(in_channels: int = 6) -> ConverterSpec:
    """The spec of ``stdc2mmseg.py`` for a shallow net of ``in_channels``."""
    return ConverterSpec(
        converter='tools/model_converters/stdc2mmseg.py',
        description='Convert STDC-Seg ImageNet STDC1 weights '
        '(STDCNet813M_73.91.tar) to the weights of ISDNet\'s shallow net.',
        convert=lambda sd: convert_stdc813(sd, in_channels),
        source_layout='MichaelFan01/STDC-Seg nets/stdcnet.py STDCNet813 '
        f'(ImageNet), stem tiled to {in_channels} channels',
        wrappers=WRAPPERS,
        dropped_note='dropped {n} keys (stage aliases, third stage, '
        'conv_last and the ImageNet classifier): {keys}',
        no_init=('backbone', 'refine_head.shallow_net'),
        config_prefix='refine_head.shallow_net.')


def resnet_d_main(argv=None) -> int:
    """``resnet_d2mmseg.py``'s command line; returns the exit status."""
    return run(RESNET_D_SPEC, build_parser(RESNET_D_SPEC).parse_args(argv))


def stdc813_main(argv=None) -> int:
    """``stdc2mmseg.py``'s command line; returns the exit status."""
    parser = build_parser(stdc813_spec())
    parser.add_argument(
        '--in-channels',
        type=int,
        default=6,
        help='input channels of the shallow net (ISDNet: 6)')
    args = parser.parse_args(argv)
    return run(stdc813_spec(args.in_channels), args)
