"""SFNet key map: official ``AlignNetResNet`` -> mmseg_ext ``EncoderDecoder``.

Source: lxtGH/SFSegNets ``network/sfnet_resnet.py`` (``DeepR18_SF_deeply``,
``DeepR50_SF_deeply``, ``DeepR101_SF_deeply``, the R-18 DSN variant); the
targets are the models of ``configs/sfnet``. The key table and the command
line are in ``tools/model_converters/sfnet2mmseg.py``.

DSN heads: the official ``dsn[i]`` 3x3 conv has a bias while mmseg's
``FCNHead`` conv (followed by BN) has none. :func:`fold_dsn_conv_bias` folds
it into the BN exactly: ``BN(conv(x) + b)`` with running mean ``m`` equals
``BN(conv(x))`` with running mean ``m - b`` in eval mode, and in training the
batch statistics cancel a per-channel constant.
"""
import re
from collections import OrderedDict
from typing import Dict

from .cli import ConverterSpec
from .cli import main as _main
from .engine import (PARAM, ConversionError, ConversionResult, apply_rules,
                     compile_rules, unwrap_state_dict, warn_leftovers)

# the FPN skeleton shared with PFNet (lxtGH/PFSegNets keeps the same
# names): deep-stem backbone, PPM, laterals, fpn_out, fusion head
SKELETON_RULES = compile_rules([
    (r'layer0\.0\.(?P<i>[01346])\.' + PARAM, r'backbone.stem.\g<i>.\g<p>'),
    (r'layer0\.1\.' + PARAM, r'backbone.stem.7.\g<p>'),
    (r'(?P<l>layer[1-4]\.\d+\.(?:conv[1-3]|bn[1-3]|downsample\.[01]))\.' +
     PARAM, r'backbone.\g<l>.\g<p>'),
    (r'head\.ppm\.stages\.(?P<i>\d+)\.1\.' + PARAM,
     r'neck.ppm.\g<i>.1.conv.\g<p>'),
    (r'head\.ppm\.stages\.(?P<i>\d+)\.2\.' + PARAM,
     r'neck.ppm.\g<i>.1.bn.\g<p>'),
    (r'head\.ppm\.bottleneck\.0\.' + PARAM,
     r'neck.ppm_bottleneck.0.conv.\g<p>'),
    (r'head\.ppm\.bottleneck\.1\.' + PARAM, r'neck.ppm_bottleneck.0.bn.\g<p>'),
    (r'head\.fpn_in\.(?P<i>\d+)\.0\.' + PARAM,
     r'neck.lateral_convs.\g<i>.conv.\g<p>'),
    (r'head\.fpn_in\.(?P<i>\d+)\.1\.' + PARAM,
     r'neck.lateral_convs.\g<i>.bn.\g<p>'),
    (r'head\.fpn_out\.(?P<i>\d+)\.0\.0\.' + PARAM,
     r'neck.fpn_convs.\g<i>.conv.\g<p>'),
    (r'head\.fpn_out\.(?P<i>\d+)\.0\.1\.' + PARAM,
     r'neck.fpn_convs.\g<i>.bn.\g<p>'),
    (r'head\.conv_last\.0\.0\.' + PARAM,
     r'decode_head.fusion_conv.conv.\g<p>'),
    (r'head\.conv_last\.0\.1\.' + PARAM, r'decode_head.fusion_conv.bn.\g<p>'),
    (r'head\.conv_last\.1\.' + PARAM, r'decode_head.conv_seg.\g<p>'),
])
SFNET_RULES = SKELETON_RULES + compile_rules([
    (r'head\.fpn_out_align\.(?P<i>\d+)\.(?P<m>down_h|down_l|flow_make)\.' +
     PARAM, r'neck.fams.\g<i>.\g<m>.\g<p>'),
    (r'head\.dsn\.(?P<i>\d+)\.0\.' + PARAM,
     r'auxiliary_head.\g<i>.convs.0.conv.\g<p>'),
    (r'head\.dsn\.(?P<i>\d+)\.1\.' + PARAM,
     r'auxiliary_head.\g<i>.convs.0.bn.\g<p>'),
    (r'head\.dsn\.(?P<i>\d+)\.4\.' + PARAM,
     r'auxiliary_head.\g<i>.conv_seg.\g<p>'),
])
# official keys that are not network weights (loss buffers): dropped, listed
IGNORED = re.compile(r'criterion\..*')
_DSN_BIAS = re.compile(r'head\.dsn\.(?P<i>\d+)\.0\.bias')
_DSN_MEAN = re.compile(r'head\.dsn\.(?P<i>\d+)\.1\.running_mean')


def fold_dsn_conv_bias(state_dict: Dict) -> 'OrderedDict':
    """Fold each official ``head.dsn.{i}.0.bias`` into its BN running mean.

    Args:
        state_dict (dict): Flat official state dict.

    Returns:
        OrderedDict: The same keys in the same order, less the DSN conv
        biases, with ``head.dsn.{i}.1.running_mean`` replaced by
        ``running_mean - bias`` (computed in float64).

    Raises:
        ConversionError: If a DSN conv bias has no BN running mean of the
            same shape to fold into.
    """
    out = OrderedDict()
    for key, value in state_dict.items():
        m = _DSN_BIAS.fullmatch(key)
        if m:
            mean_key = f'head.dsn.{m["i"]}.1.running_mean'
            if mean_key not in state_dict:
                raise ConversionError(
                    f'cannot fold {key}: {mean_key} is missing')
            continue
        m = _DSN_MEAN.fullmatch(key)
        bias_key = f'head.dsn.{m["i"]}.0.bias' if m else None
        if bias_key is not None and bias_key in state_dict:
            bias = state_dict[bias_key]
            if bias.shape != value.shape:
                raise ConversionError(
                    f'cannot fold {bias_key} {tuple(bias.shape)} into '
                    f'{key} {tuple(value.shape)}')
            # BN(conv(x) + b; mean m) == BN(conv(x); mean m - b)
            value = (value.double() - bias.double()).to(value.dtype)
        out[key] = value
    return out


def convert_sfnet_with_report(state_dict: Dict) -> ConversionResult:
    """Convert an official SFNet ResNet state dict and report leftovers.

    Args:
        state_dict (dict): Official state dict, possibly under
            ``'state_dict'`` and/or with ``module.`` prefixes.

    Returns:
        ConversionResult: ``(converted, unknown, ignored)``: the mmseg_ext
        state dict (unknown keys kept under their original names), the
        official keys no rule matched, and the ``criterion.*`` keys that
        were dropped.

    Raises:
        ConversionError: If the input is not a state dict, or a DSN conv bias
            has no matching BN running mean to fold into.
    """
    return apply_rules(
        fold_dsn_conv_bias(unwrap_state_dict(state_dict)), SFNET_RULES,
        IGNORED)


def convert_sfnet(state_dict: Dict) -> 'OrderedDict':
    """Convert an official SFNet ResNet state dict to the mmseg_ext layout.

    Unknown keys are kept under their original names (so loading reports
    them as unexpected) and a warning lists them; ``criterion.*`` keys are
    dropped with a warning.

    Args:
        state_dict (dict): Official state dict, possibly under
            ``'state_dict'`` and/or with ``module.`` prefixes.

    Returns:
        OrderedDict: ``backbone.*``, ``neck.*``, ``decode_head.*`` and
        ``auxiliary_head.{0,1,2}.*`` tensors.

    Raises:
        ConversionError: As :func:`convert_sfnet_with_report`.
    """
    return warn_leftovers(
        convert_sfnet_with_report(state_dict), 'sfnet2mmseg',
        'dropped non-network keys')


SPEC = ConverterSpec(
    converter='tools/model_converters/sfnet2mmseg.py',
    description='Convert an official SFNet (lxtGH/SFSegNets) ResNet '
    'checkpoint to the mmseg_ext layout.',
    convert=convert_sfnet_with_report,
    source_layout='lxtGH/SFSegNets AlignNetResNet',
    meta={
        'dsn_conv_bias': 'folded into auxiliary_head.*.convs.0.bn.running_mean'
    })


def main(argv=None) -> int:
    """``sfnet2mmseg.py``'s command line; returns the exit status."""
    return _main(SPEC, argv)
