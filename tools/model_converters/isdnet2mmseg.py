#!/usr/bin/env python
"""Convert official ISDNet (cedricgsh/ISDNet) weights to mmseg_ext.

Two modes.

**Segmentor checkpoints** (default): the state dict of the official
``EncoderDecoderRefine`` (``configs/isdnet/*.py``, mmseg 0.16) onto
:class:`ISDNetEncoderDecoder` built from ``configs/isdnet``.

Official key (``module.`` stripped)      ->  mmseg_ext key::

    backbone.* / decode_head.* / auxiliary_head.*  -> unchanged (ResNetV1c,
                                                      RefineASPPHead, FCNHead)
    refine_head.stdc_net.features.{i}.*    -> refine_head.shallow_net.stages.*
        (i = 0, 1, 2, 3, 4, 5 -> 0, 1, 2.0, 2.1, 3.0, 3.1;
         conv_list -> layers, avd_layer.0/1 -> downsample.conv/bn)
    refine_head.stdc_net.x{2,4,8,16}.0.{i}.* -> dropped: aliases of
        features.{i} (slicing an nn.Sequential keeps the indices; they
        must hold the same tensors)
    refine_head.conv_seg_aux_16.*          -> refine_head.aux_head_8.*
    refine_head.conv_seg_aux_8.*           -> refine_head.aux_head_16.*
        (the official names are crosswise: conv_seg_aux_16 reads the 1/8
         RAF context feature)
    refine_head.fuse{8,16}.g1 / g2         -> .spatial_gate / .context_gate
    refine_head.fuse{8,16}.context_head.*  -> .context_conv.*
    refine_head.fuse{8,16}.{spatial,context}_{mlp,att}.*, smooth.* -> same
    refine_head.sr_decoder.conv{1,2,3}.*   -> ...sr_decoder.convs.{0,1,2}.*
    refine_head.sr_decoder.conv_sr.*, refine_head.conv_seg.* -> same

The official ``Reducer`` (``refine_head.reduce.*``, unused by the official
configs) is not ported: such keys are reported as unknown. The released
checkpoint is reported to reference an unreleased head class
(cedricgsh/ISDNet#13); keys the code above does not produce are listed as
unknown rather than guessed.

**STDC ImageNet weights** (``--stdc-imagenet``): STDC-Seg's
``STDCNet813M_73.91.tar`` (``features.*``) or mmseg's converted STDC1
(``stages.*``) to a :class:`STDCShallowNet` checkpoint: only the stem and
first two stages are kept and the 3-channel first conv is duplicated to 6
channels as the official ``ShallowNet.init_weight`` does (``cat([w, w])``,
not halved). The result can be given to
``refine_head.shallow_net.init_cfg=dict(type='Pretrained', checkpoint=...)``
(which also accepts the two source layouts directly).

Usage::

    python tools/model_converters/isdnet2mmseg.py official_isdnet.pth \\
        isdnet_mmseg.pth \\
        --config configs/isdnet/isdnet_r18-d8_4xb2-80k_deepglobe-1224x1224.py
    python tools/model_converters/isdnet2mmseg.py STDCNet813M_73.91.tar \\
        stdc1_shallow_6ch.pth --stdc-imagenet

``DST`` receives ``{'state_dict': ..., 'meta': {...}}``, written to a
temporary file and renamed. With ``--config`` the model is built (SyncBN
reverted to BN, no pretrained weights) and the converted weights are loaded
non-strictly: missing keys are printed as a warning; unexpected keys or shape
mismatches fail the conversion (exit status 1, ``DST`` not written). Unknown
source keys also fail it unless ``--keep-unknown`` is given without
``--config``. ``SRC`` is loaded with ``weights_only=True``; official training
snapshots that pickle other objects need ``--trust-pickle`` (trusted files
only).
"""
import os.path as osp
import re
import sys
import warnings
from collections import OrderedDict
from typing import Dict, List, Tuple

import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

# the load / unwrap / config-check / atomic-save / CLI machinery is shared
# with sfnet2mmseg.py (pfnet2mmseg.py reuses it the same way)
from sfnet2mmseg import (
    _P,
    ConversionError,
    build_parser,  # noqa: E402,F401
    check_against_config,
    load_source)
from sfnet2mmseg import main as _main  # noqa: E402
from sfnet2mmseg import save_atomic  # noqa: E402,F401
from sfnet2mmseg import unwrap_state_dict as _unwrap  # noqa: E402

_FEATURE_TO_STAGE = ('0', '1', '2.0', '2.1', '3.0', '3.1')
# x{2,4,8,16} = nn.Sequential(features[a:b]) keeps features' indices
_ALIAS_RANGE = {'x2': (0, ), 'x4': (1, ), 'x8': (2, 3), 'x16': (4, 5)}
_RH = r'refine_head\.'
_RULES: List[Tuple[re.Pattern, str]] = [(re.compile(p), r) for p, r in [
    (r'(?P<k>(?:backbone|decode_head|auxiliary_head)\..+)', r'\g<k>'),
    (_RH + r'conv_seg\.(?P<k>(?:conv_bn_relu\.(?:conv|bn)|conv_out)\.)' + _P,
     r'refine_head.conv_seg.\g<k>\g<p>'),
    (_RH +
     r'conv_seg_aux_16\.(?P<k>(?:conv_bn_relu\.(?:conv|bn)|conv_out)\.)' + _P,
     r'refine_head.aux_head_8.\g<k>\g<p>'),
    (_RH + r'conv_seg_aux_8\.(?P<k>(?:conv_bn_relu\.(?:conv|bn)|conv_out)\.)' +
     _P, r'refine_head.aux_head_16.\g<k>\g<p>'),
    (_RH + r'(?P<f>fuse(?:8|16))\.g1', r'refine_head.\g<f>.spatial_gate'),
    (_RH + r'(?P<f>fuse(?:8|16))\.g2', r'refine_head.\g<f>.context_gate'),
    (_RH + r'(?P<f>fuse(?:8|16))\.(?P<m>(?:spatial|context)_mlp\.[02])\.' + _P,
     r'refine_head.\g<f>.\g<m>.\g<p>'),
    (_RH + r'(?P<f>fuse(?:8|16))\.(?P<m>(?:spatial|context)_att\.'
     r'(?:conv_bn_relu|conv_1x1)\.(?:conv|bn))\.' + _P,
     r'refine_head.\g<f>.\g<m>.\g<p>'),
    (_RH + r'(?P<f>fuse(?:8|16))\.context_head\.(?P<m>conv|bn)\.' + _P,
     r'refine_head.\g<f>.context_conv.\g<m>.\g<p>'),
    (_RH + r'(?P<f>fuse(?:8|16))\.smooth\.(?P<m>conv|bn)\.' + _P,
     r'refine_head.\g<f>.smooth.\g<m>.\g<p>'),
    (_RH + r'sr_decoder\.conv1\.(?P<m>conv|bn)\.' + _P,
     r'refine_head.sr_decoder.convs.0.\g<m>.\g<p>'),
    (_RH + r'sr_decoder\.conv2\.(?P<m>conv|bn)\.' + _P,
     r'refine_head.sr_decoder.convs.1.\g<m>.\g<p>'),
    (_RH + r'sr_decoder\.conv3\.(?P<m>conv|bn)\.' + _P,
     r'refine_head.sr_decoder.convs.2.\g<m>.\g<p>'),
    (_RH + r'sr_decoder\.conv_sr\.(?P<k>(?:conv_bn_relu\.(?:conv|bn)|'
     r'conv_out)\.)' + _P, r'refine_head.sr_decoder.conv_sr.\g<k>\g<p>'),
]]
_FEATURE = re.compile(_RH + r'stdc_net\.features\.(?P<i>[0-5])\.(?P<rest>.+)')
_ALIAS = re.compile(_RH + r'stdc_net\.(?P<x>x2|x4|x8|x16)\.0\.(?P<i>\d+)\.'
                    r'(?P<rest>.+)')
_STDC_BLOCK = re.compile(
    r'(?:(?:conv_list\.\d+\.(?:conv|bn))|avd_layer\.[01]|conv|bn)\.' + _P)


def unwrap_state_dict(checkpoint, source: str = '<state dict>') -> Dict:
    """Return the flat ``{name: Tensor}`` dict inside ``checkpoint``.

    ``sfnet2mmseg.unwrap_state_dict`` that also unwraps a ``'model'`` entry:
    ``'state_dict'`` (mmcv/mmengine and STDC-Seg files) is tried first.
    A leading ``module.`` is stripped from every key.

    Args:
        checkpoint: A state dict or a dict holding one.
        source (str): Name used in error messages (e.g. the file path).

    Returns:
        OrderedDict: Key -> tensor, without ``module.`` prefixes.

    Raises:
        ConversionError: If no non-empty tensor dict is found.
    """
    return _unwrap(checkpoint, source, wrappers=('state_dict', 'model'))


def _stdc_rest(rest: str) -> str:
    """Rename inside one STDC block: ConvX/CatBottleneck -> mmseg names."""
    rest = rest.replace('conv_list.', 'layers.')
    rest = re.sub(r'^avd_layer\.0\.', 'downsample.conv.', rest)
    return re.sub(r'^avd_layer\.1\.', 'downsample.bn.', rest)


def map_key(key: str):
    """Map one official key (without ``module.``) to its mmseg_ext name.

    Args:
        key (str): Official key, e.g. ``'refine_head.fuse8.g1'``.

    Returns:
        str | None: The new key, or None if no rule matches (aliases
        ``stdc_net.x*`` included: :func:`convert_isdnet_with_report` handles
        them).
    """
    m = _FEATURE.fullmatch(key)
    if m and _STDC_BLOCK.fullmatch(m['rest']):
        stage = _FEATURE_TO_STAGE[int(m['i'])]
        rest = _stdc_rest(m['rest'])
        return f'refine_head.shallow_net.stages.{stage}.{rest}'
    for pattern, repl in _RULES:
        if pattern.fullmatch(key):
            return pattern.sub(repl, key)
    return None


def convert_isdnet_with_report(
        state_dict: Dict) -> Tuple[Dict, List[str], List[str]]:
    """Convert an official ISDNet segmentor state dict and report leftovers.

    Args:
        state_dict (dict): Official state dict, possibly under
            ``'state_dict'`` and/or with ``module.`` prefixes.

    Returns:
        tuple: ``(converted, unknown, aliases)``: the mmseg_ext state dict
        (unknown keys kept under their original names), the official keys
        no rule matched, and the ``stdc_net.x*`` alias keys dropped.

    Raises:
        ConversionError: If the input is not a state dict or an alias key
            differs from the ``features`` tensor it should share.
    """
    src = unwrap_state_dict(state_dict)
    converted = OrderedDict()
    unknown, aliases = [], []
    for key, value in src.items():
        m = _ALIAS.fullmatch(key)
        if m and int(m['i']) in _ALIAS_RANGE[m['x']]:
            index = int(m['i'])
            canonical = (f'refine_head.stdc_net.features.{index}.'
                         f'{m["rest"]}')
            if canonical in src:
                same = src[canonical] is value or (
                    src[canonical].shape == value.shape
                    and torch.equal(src[canonical], value))
                if not same:
                    raise ConversionError(
                        f'{key} should alias {canonical} (the official '
                        'ShallowNet registers the same modules twice) but '
                        'holds different values')
                aliases.append(key)
                continue
            key = canonical  # only the alias was saved: use it
        new_key = map_key(key)
        if new_key is None:
            unknown.append(key)
            converted[key] = value
        else:
            converted[new_key] = value
    return converted, unknown, aliases


def convert_isdnet(state_dict: Dict) -> Dict:
    """Convert an official ISDNet segmentor state dict (see module doc).

    Unknown keys are kept under their original names (loading reports them
    as unexpected) and listed in a warning.

    Args:
        state_dict (dict): Official state dict.

    Returns:
        OrderedDict: ``backbone.*``, ``decode_head.*``, ``refine_head.*``
        and ``auxiliary_head.*`` tensors.
    """
    converted, unknown, _ = convert_isdnet_with_report(state_dict)
    if unknown:
        warnings.warn(f'isdnet2mmseg: {len(unknown)} unknown official keys '
                      f'kept unconverted: {unknown}')
    return converted


def convert_stdc_imagenet(state_dict: Dict,
                          in_channels: int = 6) -> 'OrderedDict':
    """STDC1 ImageNet weights -> :class:`STDCShallowNet` weights.

    Accepts STDC-Seg ``features.*`` or mmseg ``stages.*`` keys; keeps the
    stem and the first two stages and duplicates the first conv over
    ``in_channels`` (official ``ShallowNet.init_weight``).

    Args:
        state_dict (dict): ImageNet STDC1 weights (possibly wrapped).
        in_channels (int): Input channels of the shallow net. Default: 6.

    Returns:
        OrderedDict: ``stages.{0,1,2.*,3.*}.*`` tensors.

    Raises:
        ConversionError: If no shallow-net key is found or the first conv
            cannot be tiled over ``in_channels``.
    """
    from mmseg_ext.models.backbones.stdc_shallow_net import (
        expand_first_conv, stdc_official_to_stages)
    renamed = stdc_official_to_stages(unwrap_state_dict(state_dict))
    kept = OrderedDict((k, v) for k, v in renamed.items()
                       if re.match(r'stages\.(?:[01]|[23]\.[01])\.', k))
    if not kept:
        raise ConversionError(
            'no STDC1 stem/stage keys (features.0-5.* or stages.0-3.*) '
            f'found; keys start with {list(renamed)[:5]}')
    try:
        return expand_first_conv(kept, in_channels)
    except (KeyError, ValueError) as e:
        raise ConversionError(str(e)) from e


def parse_args(argv=None):
    """Parse the command line: sfnet2mmseg's plus the STDC ImageNet mode."""
    parser = build_parser(
        'Convert an official ISDNet (cedricgsh/ISDNet) checkpoint, or STDC1 '
        'ImageNet weights for its shallow net, to the mmseg_ext layout.')
    parser.add_argument(
        '--stdc-imagenet',
        action='store_true',
        help='SRC is STDC1 ImageNet weights: write STDCShallowNet weights '
        'with the first conv duplicated to --in-channels')
    parser.add_argument(
        '--in-channels',
        type=int,
        default=6,
        help='shallow-net input channels (--stdc-imagenet)')
    args = parser.parse_args(argv)
    if args.stdc_imagenet and args.config:
        parser.error('--config checks segmentor checkpoints; it cannot be '
                     'combined with --stdc-imagenet')
    return args


def main(argv=None) -> int:
    """Run the converter CLI; returns the exit status."""
    args = parse_args(argv)
    if args.stdc_imagenet:

        def convert(state_dict):
            return convert_stdc_imagenet(state_dict, args.in_channels), [], []

        layout = ('STDC1 ImageNet (stem duplicated to '
                  f'{args.in_channels} channels)')
    else:
        convert = convert_isdnet_with_report
        layout = 'cedricgsh/ISDNet EncoderDecoderRefine'
    return _main(
        args=args,
        convert=convert,
        meta={
            'converter': 'tools/model_converters/isdnet2mmseg.py',
            'source_layout': layout
        },
        unwrap=unwrap_state_dict,
        dropped_note='dropped {n} stdc_net.x* alias keys (same tensors as '
        'stdc_net.features.*)')


if __name__ == '__main__':
    sys.exit(main())
