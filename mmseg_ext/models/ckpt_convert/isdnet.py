"""ISDNet key map: official ``EncoderDecoderRefine`` -> mmseg_ext.

Source: cedricgsh/ISDNet ``configs/isdnet/*.py`` (mmseg 0.16),
``mmseg/models/decode_heads/isdnet_head.py`` and ``stdc_head.py``; the
target is :class:`ISDNetEncoderDecoder` of ``configs/isdnet``. The shallow
net's ``stdc_net.features.*`` keys are renamed by the STDC key map
(:mod:`.stdc`). The official ``ShallowNet`` registers its stages twice
(``x2``/``x4``/``x8``/``x16`` are ``nn.Sequential`` slices of ``features``,
which keep its indices): :func:`drop_stdc_aliases` keeps one copy. The key
table and the command line are in ``tools/model_converters/isdnet2mmseg.py``.
"""
import dataclasses
import re
from collections import OrderedDict
from typing import Dict, List, Tuple

import torch

from .cli import ConverterSpec, build_parser, run
from .engine import (PARAM, ConversionError, ConversionResult, apply_rules,
                     compile_rules, unwrap_state_dict, warn_leftovers)
from .imagenet import add_in_channels_argument, stdc813_spec
from .stdc import STDC_BLOCK_KEY, stdc_block_key

# checkpoints keep their state dict under 'state_dict' (mmcv/mmengine,
# STDC-Seg) or 'model'
WRAPPERS = ('state_dict', 'model')
# x{2,4,8,16} = nn.Sequential(features[a:b]) keeps features' indices
_ALIAS_RANGE = {'x2': (0, ), 'x4': (1, ), 'x8': (2, 3), 'x16': (4, 5)}
_RH = r'refine_head\.'
_HEAD = r'(?P<k>(?:conv_bn_relu\.(?:conv|bn)|conv_out)\.)' + PARAM
_FUSE = _RH + r'(?P<f>fuse(?:8|16))\.'
ISDNET_RULES = compile_rules([
    (_RH + r'stdc_net\.features\.(?P<i>[0-5])\.(?P<rest>' + STDC_BLOCK_KEY +
     ')', lambda m: 'refine_head.shallow_net.' + stdc_block_key(
         int(m['i']), m['rest'])),
    (r'(?P<k>(?:backbone|decode_head|auxiliary_head)\..+)', r'\g<k>'),
    (_RH + r'conv_seg\.' + _HEAD, r'refine_head.conv_seg.\g<k>\g<p>'),
    # crosswise: the official conv_seg_aux_16 reads the 1/8 context feature
    (_RH + r'conv_seg_aux_16\.' + _HEAD, r'refine_head.aux_head_8.\g<k>\g<p>'),
    (_RH + r'conv_seg_aux_8\.' + _HEAD, r'refine_head.aux_head_16.\g<k>\g<p>'),
    (_FUSE + r'g1', r'refine_head.\g<f>.spatial_gate'),
    (_FUSE + r'g2', r'refine_head.\g<f>.context_gate'),
    # RAF modules that keep their names
    (_FUSE + r'(?P<m>(?:spatial|context)_mlp\.[02]|'
     r'(?:spatial|context)_att\.(?:conv_bn_relu|conv_1x1)\.(?:conv|bn)|'
     r'smooth\.(?:conv|bn))\.' + PARAM, r'refine_head.\g<f>.\g<m>.\g<p>'),
    (_FUSE + r'context_head\.(?P<m>conv|bn)\.' + PARAM,
     r'refine_head.\g<f>.context_conv.\g<m>.\g<p>'),
    # conv1, conv2, conv3 -> convs.0, convs.1, convs.2
    (_RH + r'sr_decoder\.conv(?P<n>[123])\.(?P<m>conv|bn)\.' + PARAM,
     lambda m: f'refine_head.sr_decoder.convs.{int(m["n"]) - 1}.'
     f'{m["m"]}.{m["p"]}'),
    (_RH + r'sr_decoder\.conv_sr\.' + _HEAD,
     r'refine_head.sr_decoder.conv_sr.\g<k>\g<p>'),
])
_ALIAS = re.compile(_RH + r'stdc_net\.(?P<x>x2|x4|x8|x16)\.0\.(?P<i>\d+)\.'
                    r'(?P<rest>.+)')


def drop_stdc_aliases(state_dict: Dict) -> Tuple['OrderedDict', List[str]]:
    """Keep one copy of each shallow-net tensor the official code saves twice.

    ``refine_head.stdc_net.x*.0.{i}.*`` aliases ``stdc_net.features.{i}.*``:
    it is dropped when the ``features`` key is present (and must hold the
    same values), and renamed to it when only the alias was saved.

    Args:
        state_dict (dict): Flat official state dict.

    Returns:
        tuple: ``(state_dict, aliases)``: the dict in source order without
        aliases, and the dropped alias keys.

    Raises:
        ConversionError: If an alias differs from its ``features`` tensor.
    """
    out, aliases = OrderedDict(), []
    for key, value in state_dict.items():
        m = _ALIAS.fullmatch(key)
        if m and int(m['i']) in _ALIAS_RANGE[m['x']]:
            canonical = (f'refine_head.stdc_net.features.{m["i"]}.'
                         f'{m["rest"]}')
            if canonical in state_dict:
                same = state_dict[canonical] is value or (
                    state_dict[canonical].shape == value.shape
                    and torch.equal(state_dict[canonical], value))
                if not same:
                    raise ConversionError(
                        f'{key} should alias {canonical} (the official '
                        'ShallowNet registers the same modules twice) but '
                        'holds different values')
                aliases.append(key)
                continue
            key = canonical  # only the alias was saved: use it
        out[key] = value
    return out, aliases


def convert_isdnet_with_report(state_dict: Dict) -> ConversionResult:
    """Convert an official ISDNet segmentor state dict and report leftovers.

    Args:
        state_dict (dict): Official state dict, possibly under
            ``'state_dict'`` or ``'model'`` and/or with ``module.`` prefixes.

    Returns:
        ConversionResult: ``(converted, unknown, aliases)``: the mmseg_ext
        state dict (unknown keys kept under their original names), the
        official keys no rule matched, and the ``stdc_net.x*`` alias keys
        dropped.

    Raises:
        ConversionError: If the input is not a state dict or an alias key
            differs from the ``features`` tensor it should share.
    """
    src, aliases = drop_stdc_aliases(
        unwrap_state_dict(state_dict, wrappers=WRAPPERS))
    converted, unknown, _ = apply_rules(src, ISDNET_RULES)
    return ConversionResult(converted, unknown, aliases)


def convert_isdnet(state_dict: Dict) -> 'OrderedDict':
    """Convert an official ISDNet segmentor state dict.

    Unknown keys are kept under their original names (loading reports them
    as unexpected) and listed in a warning.

    Args:
        state_dict (dict): Official state dict.

    Returns:
        OrderedDict: ``backbone.*``, ``decode_head.*``, ``refine_head.*``
        and ``auxiliary_head.*`` tensors.

    Raises:
        ConversionError: As :func:`convert_isdnet_with_report`.
    """
    return warn_leftovers(
        convert_isdnet_with_report(state_dict), 'isdnet2mmseg')


SPEC = ConverterSpec(
    converter='tools/model_converters/isdnet2mmseg.py',
    description='Convert an official ISDNet (cedricgsh/ISDNet) checkpoint, '
    'or STDC1 ImageNet weights for its shallow net, to the mmseg_ext layout.',
    convert=convert_isdnet_with_report,
    source_layout='cedricgsh/ISDNet EncoderDecoderRefine',
    wrappers=WRAPPERS,
    dropped_note='dropped {n} stdc_net.x* alias keys (same tensors as '
    'stdc_net.features.*)',
    no_init=('backbone', 'refine_head.shallow_net'))


def stdc_imagenet_spec(in_channels: int = 6) -> ConverterSpec:
    """The ``--stdc-imagenet`` mode: ``stdc2mmseg.py``'s conversion
    (:func:`.imagenet.stdc813_spec`), recorded as this script's."""
    return dataclasses.replace(
        stdc813_spec(in_channels), converter=SPEC.converter)


def parse_args(argv=None):
    """Parse the command line: the shared one plus the STDC ImageNet mode."""
    parser = build_parser(SPEC)
    parser.add_argument(
        '--stdc-imagenet',
        action='store_true',
        help='SRC is STDC1 ImageNet weights: write STDCShallowNet weights '
        'as tools/model_converters/stdc2mmseg.py does')
    add_in_channels_argument(parser)
    args = parser.parse_args(argv)
    if args.stdc_imagenet and args.config:
        parser.error('--config checks segmentor checkpoints; it cannot be '
                     'combined with --stdc-imagenet')
    return args


def main(argv=None) -> int:
    """``isdnet2mmseg.py``'s command line; returns the exit status."""
    args = parse_args(argv)
    spec = stdc_imagenet_spec(args.in_channels) if args.stdc_imagenet else SPEC
    return run(spec, args)
