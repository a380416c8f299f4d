#!/usr/bin/env python
"""Train our SFNet-R18 and the official network in one mmseg loop.

A benchmark (:mod:`tools.fidelity.same_loop`): both from scratch, the
same data (the real iSAID samples cut into patches), data order, OHEM loss,
SGD, poly schedule and seed; prints the first and last loss and the means
of the first and last 20 iterations, and writes every loss to ``--out``.
The official SFSegNets checkout must be on ``PYTHONPATH``::

    PYTHONPATH=/path/to/SFSegNets nice \\
        python -m tools.misc.same_loop_compare \\
        --isaid data/isaid --work-dir /tmp/same_loop --out /tmp/same_loop.json
"""
import sys

from tools.fidelity.same_loop import main

if __name__ == '__main__':
    sys.exit(main())
