#!/usr/bin/env python
"""Convert official ISDNet (cedricgsh/ISDNet) weights to mmseg_ext.

Two modes.

**Segmentor checkpoints** (default): the state dict of the official
``EncoderDecoderRefine`` (``configs/isdnet/*.py``, mmseg 0.16) onto
:class:`ISDNetEncoderDecoder` built from ``configs/isdnet``. The rule table is
``mmseg_ext.models.ckpt_convert.isdnet.ISDNET_RULES`` (STDC keys:
``ckpt_convert.stdc``).

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

import sys

from mmseg_ext.models.ckpt_convert.isdnet import main

if __name__ == '__main__':
    sys.exit(main())
