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
  ``ShallowNet.init_weight``) -> :class:`STDCShallowNet`: the conversion is
  the model's own
  :func:`~mmseg_ext.models.backbones.stdc_shallow_net.checkpoint_filter_fn`
  (the one ``init_weights`` uses); here only its command line
  (:func:`stdc813_spec`), whose report lists the dropped and unknown keys.
"""
import argparse
import re
from functools import partial
from typing import Dict

from .cli import ConverterSpec, build_parser, run
from .engine import (PARAM, ConversionError, ConversionResult, apply_rules,
                     compile_rules, unwrap_state_dict)

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
    """The spec of ``stdc2mmseg.py`` for a shallow net of ``in_channels``:
    :func:`~mmseg_ext.models.backbones.stdc_shallow_net.checkpoint_filter_fn`
    (imported here: the backbone module imports this package)."""
    from ..backbones.stdc_shallow_net import checkpoint_filter_fn
    return ConverterSpec(
        converter='tools/model_converters/stdc2mmseg.py',
        description='Convert STDC-Seg ImageNet STDC1 weights '
        '(STDCNet813M_73.91.tar) to the weights of ISDNet\'s shallow net.',
        convert=partial(checkpoint_filter_fn, in_channels=in_channels),
        source_layout='MichaelFan01/STDC-Seg nets/stdcnet.py STDCNet813 '
        f'(ImageNet), stem duplicated to {in_channels} channels',
        wrappers=WRAPPERS,
        dropped_note='dropped {n} keys (stage aliases, third stage, '
        'conv_last and the ImageNet classifier): {keys}',
        no_init=('backbone', 'refine_head.shallow_net'),
        config_prefix='refine_head.shallow_net.')


def resnet_d_main(argv=None) -> int:
    """``resnet_d2mmseg.py``'s command line; returns the exit status."""
    return run(RESNET_D_SPEC, build_parser(RESNET_D_SPEC).parse_args(argv))


def add_in_channels_argument(parser: argparse.ArgumentParser) -> None:
    """``--in-channels`` (default 6): the shallow net's input channels, over
    which the STDC1 stem is duplicated."""
    parser.add_argument(
        '--in-channels',
        type=int,
        default=6,
        help='input channels of the shallow net (ISDNet: 6); the STDC1 stem '
        'is duplicated over them')


def stdc813_main(argv=None) -> int:
    """``stdc2mmseg.py``'s command line; returns the exit status."""
    parser = build_parser(stdc813_spec())
    add_in_channels_argument(parser)
    args = parser.parse_args(argv)
    return run(stdc813_spec(args.in_channels), args)
