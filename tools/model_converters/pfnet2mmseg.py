#!/usr/bin/env python
"""Convert official PFNet (lxtGH/PFSegNets) checkpoints to mmseg_ext.

Maps the state dict of the official ``AlignNetResNetMaxAvgpool``
(``DeepR50_PF_maxavg_deeply`` / ``DeepR101_PF_maxavg_deeply``,
``network/pointflow_resnet_with_max_avg_pool.py``) onto an mmseg
``EncoderDecoder`` built from ``configs/pfnet``. The backbone, PPM, laterals,
``fpn_out`` and fusion head share SFNet's names, so SFNet's skeleton rules
(``mmseg_ext.models.ckpt_convert.sfnet.SKELETON_RULES``, table in
``sfnet2mmseg.py``) map them; the PointFlow modules
(``ckpt_convert.pfnet.PF_RULES``) map as::

    head.fpn_out_align.{i}.*                 -> neck.point_flows.{i}.*
        .down_h / .down_l                    -> .down_h / .down_l
        .point_matcher.match_conv            -> .point_matcher.match_conv
        .edge_final.0 / .1                   -> .edge_final.0.conv / .bn
        .edge_final.3                        -> .edge_final.1

``criterion.*`` buffers are dropped and listed; ``state_dict`` wrappers and
``module.`` prefixes are removed; unknown keys fail the conversion (or are
kept with ``--keep-unknown``).

Usage (``SRC DST [--config CFG] [--keep-unknown] [--trust-pickle]``, as
``sfnet2mmseg.py``)::

    python tools/model_converters/pfnet2mmseg.py pfnet_r50_isaid.pth \\
        pfnet_r50_isaid_mmseg.pth \\
        --config configs/pfnet/pfnet_r50-d32_8xb2-34k_isaid-896x896.py

``DST`` is written through a temporary file and renamed; with ``--config``
unexpected keys or shape mismatches exit with status 1 and write nothing
(the command line of every converter:
``mmseg_ext.models.ckpt_convert.engine.run``).
"""

import sys

from mmseg_ext.models.ckpt_convert.pfnet import main

if __name__ == '__main__':
    sys.exit(main())
