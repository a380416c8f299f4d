#!/usr/bin/env python
"""Convert official PFNet (lxtGH/PFSegNets) checkpoints to mmseg_ext.

Maps the state dict of the official ``AlignNetResNetMaxAvgpool``
(``DeepR50_PF_maxavg_deeply`` / ``DeepR101_PF_maxavg_deeply``,
``network/pointflow_resnet_with_max_avg_pool.py``) onto an mmseg
``EncoderDecoder`` built from ``configs/pfnet``. The backbone, PPM, laterals,
``fpn_out`` and fusion head share SFNet's names, so SFNet's skeleton rules
(``sfnet2mmseg.SKELETON_RULES``) map them; the PointFlow modules map as::

    head.fpn_out_align.{i}.down_h / down_l        -> neck.point_flows.{i}.down_h / down_l
    head.fpn_out_align.{i}.point_matcher.match_conv
                                                  -> neck.point_flows.{i}.point_matcher.match_conv
    head.fpn_out_align.{i}.edge_final.0 / .1      -> neck.point_flows.{i}.edge_final.0.conv / .bn
    head.fpn_out_align.{i}.edge_final.3           -> neck.point_flows.{i}.edge_final.1

``criterion.*`` buffers are dropped and listed; ``state_dict`` wrappers and
``module.`` prefixes are removed; unknown keys fail the conversion (or are
kept with ``--keep-unknown``).

Usage::

    python tools/model_converters/pfnet2mmseg.py SRC DST [--config CFG]
        [--keep-unknown] [--trust-pickle]

    python tools/model_converters/pfnet2mmseg.py pfnet_r50_isaid.pth \\
        pfnet_r50_isaid_mmseg.pth \\
        --config configs/pfnet/pfnet_r50-d32_8xb2-34k_isaid-896x896.py

``DST`` is written through a temporary file and renamed; with ``--config``
unexpected keys or shape mismatches exit with status 1 and write nothing
(see ``sfnet2mmseg.py`` for the shared CLI).
"""
import os.path as osp
import re
import sys
from collections import OrderedDict
from typing import Dict, List, Tuple

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from sfnet2mmseg import (
    _IGNORED,
    _P,
    SKELETON_RULES,  # noqa: E402,F401
    check_against_config)
from sfnet2mmseg import main as _main  # noqa: E402
from sfnet2mmseg import map_key, unwrap_state_dict  # noqa: E402,F401

PF_RULES: List[Tuple[re.Pattern, str]] = [(re.compile(p), r) for p, r in [
    (r'head\.fpn_out_align\.(?P<i>\d+)\.(?P<m>down_h|down_l|'
     r'point_matcher\.match_conv)\.' + _P,
     r'neck.point_flows.\g<i>.\g<m>.\g<p>'),
    (r'head\.fpn_out_align\.(?P<i>\d+)\.edge_final\.0\.' + _P,
     r'neck.point_flows.\g<i>.edge_final.0.conv.\g<p>'),
    (r'head\.fpn_out_align\.(?P<i>\d+)\.edge_final\.1\.' + _P,
     r'neck.point_flows.\g<i>.edge_final.0.bn.\g<p>'),
    (r'head\.fpn_out_align\.(?P<i>\d+)\.edge_final\.3\.' + _P,
     r'neck.point_flows.\g<i>.edge_final.1.\g<p>'),
]] + SKELETON_RULES


def convert_pfnet_with_report(
        state_dict: Dict) -> Tuple[Dict, List[str], List[str]]:
    """Convert an official PFNet state dict and report leftovers.

    Args:
        state_dict (dict): Official state dict, possibly under
            ``'state_dict'`` and/or with ``module.`` prefixes.

    Returns:
        tuple: ``(converted, unknown, ignored)``: the mmseg_ext state dict
        (unknown keys kept under their original names), the official keys no
        rule matched, and the dropped ``criterion.*`` keys.

    Raises:
        ConversionError: If the input is not a state dict of tensors.
    """
    converted = OrderedDict()
    unknown, ignored = [], []
    for key, value in unwrap_state_dict(state_dict).items():
        if _IGNORED.fullmatch(key):
            ignored.append(key)
            continue
        new_key = map_key(key, PF_RULES)
        if new_key is None:
            unknown.append(key)
            new_key = key
        converted[new_key] = value
    return converted, unknown, ignored


def main(argv=None) -> int:
    """Run the converter CLI; returns the exit status."""
    return _main(
        argv,
        convert=convert_pfnet_with_report,
        description='Convert an official PFNet (lxtGH/PFSegNets) checkpoint '
        'to the mmseg_ext layout.',
        meta={
            'converter': 'tools/model_converters/pfnet2mmseg.py',
            'source_layout': 'lxtGH/PFSegNets AlignNetResNetMaxAvgpool'
        })


if __name__ == '__main__':
    sys.exit(main())
