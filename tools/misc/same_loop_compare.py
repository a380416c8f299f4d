#!/usr/bin/env python
"""Train our SFNet-R18 and the official network in one mmseg loop.

A benchmark (:mod:`tools.fidelity.same_loop`): both from scratch, the
same data, data order, OHEM loss, SGD, poly schedule and seed; prints the
first and last loss and the means of the first and last 20 iterations (and,
on CamVid, the val mIoU of each at the end), and writes every loss to
``--out``. The official SFSegNets checkout must be on ``PYTHONPATH``.
The real iSAID samples cut into patches::

    PYTHONPATH=/path/to/SFSegNets nice \\
        python -m tools.misc.same_loop_compare \\
        --isaid data/isaid --work-dir /tmp/same_loop --out /tmp/same_loop.json

CamVid train with the from-scratch CamVid recipe (batch 4, 256x352 crops),
evaluated on the 101 val frames::

    PYTHONPATH=/path/to/SFSegNets nice \\
        python -m tools.misc.same_loop_compare --dataset camvid \\
        --iters 200 --threads 2 --work-dir /tmp/same_loop_camvid \\
        --out /tmp/same_loop_camvid.same_loop.json
"""
import sys

from tools.fidelity.same_loop import main

if __name__ == '__main__':
    sys.exit(main())
