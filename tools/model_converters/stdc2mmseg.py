#!/usr/bin/env python
"""Convert STDC-Seg's ImageNet STDC1 to the weights of ISDNet's shallow net.

``STDCNet813M_73.91.tar`` (MichaelFan01/STDC-Seg, loaded by the official
ISDNet ``ShallowNet(in_channels=6, pretrain_model=...)``) becomes the state
dict of our ``STDCShallowNet``: ``features.0-5`` -> ``stages.{0, 1, 2.0,
2.1, 3.0, 3.1}`` (``conv_list`` -> ``layers``, ``avd_layer`` ->
``downsample``), the (32, 3, 3, 3) stem conv duplicated to 6 input channels
as the official code does; the stage aliases ``x2/x4/x8/x16/x32``, the
third stage ``features.6-7``, ``conv_last`` and the classifier (``fc``,
``bn``, ``linear``) are dropped and listed. The conversion is the shallow
net's own (``init_weights`` loads through it):
``mmseg_ext.models.backbones.stdc_shallow_net.checkpoint_filter_fn``.

Usage::

    python tools/model_converters/stdc2mmseg.py STDCNet813M_73.91.tar \\
        pretrain/stdc1_in1k_isdnet-shallow-6ch.pth \\
        --config \\
        configs/isdnet/isdnet_r18-d8_in1k-pre_4xb2-80k_deepglobe-1224x1224.py

The file may pickle non-tensor entries: add ``--trust-pickle`` only for a
file you trust.
"""
import sys

from mmseg_ext.models.ckpt_convert.imagenet import stdc813_main

if __name__ == '__main__':
    sys.exit(stdc813_main())
