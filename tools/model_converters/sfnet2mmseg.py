#!/usr/bin/env python
"""Convert official SFNet (lxtGH/SFSegNets) ResNet checkpoints to mmseg_ext.

Maps the state dict of the official ``AlignNetResNet`` (``DeepR18_SF_deeply``,
``DeepR50_SF_deeply``, ``DeepR101_SF_deeply`` and the R-18 DSN variant,
``network/sfnet_resnet.py``) onto an mmseg ``EncoderDecoder`` built from
``configs/sfnet``. The rule table is
``mmseg_ext.models.ckpt_convert.sfnet.SFNET_RULES``.

Official key (``module.`` stripped)  ->  mmseg_ext key::

    layer0.0.{0,1,3,4,6}          -> backbone.stem.{0,1,3,4,6}  (deep stem)
    layer0.1                      -> backbone.stem.7            (stem's BN)
    layer{1-4}.*                  -> backbone.layer{1-4}.*      (same names)
    head.ppm.stages.{i}.1 / .2    -> neck.ppm.{i}.1.conv / .bn
    head.ppm.bottleneck.0 / .1    -> neck.ppm_bottleneck.0.conv / .bn
    head.fpn_in.{i}.0 / .1        -> neck.lateral_convs.{i}.conv / .bn
    head.fpn_out_align.{i}.*      -> neck.fams.{i}.*  (down_h/down_l/flow_make)
    head.fpn_out.{i}.0.0 / .0.1   -> neck.fpn_convs.{i}.conv / .bn
    head.conv_last.0.0 / .0.1     -> decode_head.fusion_conv.conv / .bn
    head.conv_last.1              -> decode_head.conv_seg
    head.dsn.{i}.0 / .1           -> auxiliary_head.{i}.convs.0.conv / .bn
    head.dsn.{i}.4                -> auxiliary_head.{i}.conv_seg

DSN heads: the official ``dsn[i]`` is applied to FPN level ``i`` (``dsn[0]``
on the 1/4 level), so it becomes ``auxiliary_head.{i}``, whose config reads
neck output ``4 + i`` (the raw fused level ``i``). Its 3x3 conv has a bias
while mmseg's ``FCNHead`` conv (followed by BN) has none. The bias is folded
into the BN exactly: ``BN(conv(x) + b)`` with running mean ``m`` equals
``BN(conv(x))`` with running mean ``m - b`` in eval mode, and in training the
batch statistics cancel a per-channel constant, so nothing changes there
either.

A ``state_dict`` wrapper (the official ``utils/misc.py`` snapshots) and a
``module.`` prefix (DataParallel / DDP) are removed. ``criterion.*`` entries
(loss buffers, not part of the network) are dropped and listed. Every other
key that is not recognised is kept under its original name and reported, so
that loading it into a model lists it as unexpected instead of losing it.

Usage::

    python tools/model_converters/sfnet2mmseg.py SRC DST [--config CFG]
        [--keep-unknown] [--trust-pickle]

    # e.g. the released R-18 model, checked against its config
    python tools/model_converters/sfnet2mmseg.py sfnet_r18.pth \\
        sfnet_r18_mmseg.pth \\
        --config configs/sfnet/sfnet_r18-d32_4xb2-50k_cityscapes-512x1024.py

``DST`` receives ``{'state_dict': ..., 'meta': {...}}`` (written to a
temporary file, then renamed). With ``--config`` the model is built
(SyncBN reverted to BN) and the converted weights are loaded with
``strict=False``; missing keys are printed as a warning, unexpected keys or
shape mismatches are printed and make the script exit with status 1 without
writing ``DST``. Unknown source keys also fail the conversion (without
``--config`` they can be kept with ``--keep-unknown``). ``SRC`` is loaded with
``weights_only=True``; official training snapshots that also pickle
non-tensor objects need ``--trust-pickle`` (only for files you trust).
"""

import sys

from mmseg_ext.models.ckpt_convert.sfnet import main

if __name__ == '__main__':
    sys.exit(main())
