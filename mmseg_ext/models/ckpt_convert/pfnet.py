"""PFNet key map: official ``AlignNetResNetMaxAvgpool`` -> mmseg_ext.

Source: lxtGH/PFSegNets ``network/pointflow_resnet_with_max_avg_pool.py``
(``DeepR50_PF_maxavg_deeply`` / ``DeepR101_PF_maxavg_deeply``); the targets
are the models of ``configs/pfnet``. The backbone, PPM, laterals, ``fpn_out``
and fusion head keep SFNet's names (:data:`.sfnet.SKELETON_RULES`); only the
PointFlow modules have their own rules. The key table and the command line
are in ``tools/model_converters/pfnet2mmseg.py``.
"""
from typing import Dict

from .cli import ConverterSpec
from .cli import main as _main
from .engine import (PARAM, ConversionResult, apply_rules, compile_rules,
                     unwrap_state_dict)
from .sfnet import IGNORED, SKELETON_RULES

PF_RULES = compile_rules([
    (r'head\.fpn_out_align\.(?P<i>\d+)\.(?P<m>down_h|down_l|'
     r'point_matcher\.match_conv)\.' + PARAM,
     r'neck.point_flows.\g<i>.\g<m>.\g<p>'),
    (r'head\.fpn_out_align\.(?P<i>\d+)\.edge_final\.0\.' + PARAM,
     r'neck.point_flows.\g<i>.edge_final.0.conv.\g<p>'),
    (r'head\.fpn_out_align\.(?P<i>\d+)\.edge_final\.1\.' + PARAM,
     r'neck.point_flows.\g<i>.edge_final.0.bn.\g<p>'),
    (r'head\.fpn_out_align\.(?P<i>\d+)\.edge_final\.3\.' + PARAM,
     r'neck.point_flows.\g<i>.edge_final.1.\g<p>'),
]) + SKELETON_RULES


def convert_pfnet_with_report(state_dict: Dict) -> ConversionResult:
    """Rename an official PFNet state dict with :data:`PF_RULES`.

    Args:
        state_dict (dict): Official state dict, possibly under
            ``'state_dict'`` and/or with ``module.`` prefixes.

    Returns:
        ConversionResult: ``(converted, unknown, ignored)``; unknown keys
        stay in ``converted`` under their own names, ``criterion.*`` keys
        are left out and listed in ``ignored``.

    Raises:
        ConversionError: If the input is not a state dict of tensors.
    """
    return apply_rules(unwrap_state_dict(state_dict), PF_RULES, IGNORED)


SPEC = ConverterSpec(
    converter='tools/model_converters/pfnet2mmseg.py',
    description='Convert an official PFNet (lxtGH/PFSegNets) checkpoint '
    'to the mmseg_ext layout.',
    convert=convert_pfnet_with_report,
    source_layout='lxtGH/PFSegNets AlignNetResNetMaxAvgpool')


def main(argv=None) -> int:
    """``pfnet2mmseg.py``'s command line; returns the exit status."""
    return _main(SPEC, argv)
