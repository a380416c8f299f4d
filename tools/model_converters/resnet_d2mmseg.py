#!/usr/bin/env python
"""Convert the official deep-stem ImageNet ResNets to SFResNet weights.

The ImageNet weights that SFNet (lxtGH/SFSegNets) and PFNet
(lxtGH/PFSegNets) train from, ``resnet18-deep-inplane128.pth``,
``resnet50-deep.pth`` and ``resnet101-deep.pth`` (Google Drive links in
those READMEs; ``network/resnet_d.py`` loads them strictly), become the
state dict of our ``SFResNet`` backbone. The key map is
``mmseg_ext.models.ckpt_convert.imagenet.RESNET_D_RULES``::

    conv1.{0,1,3,4,6}.*   -> stem.{0,1,3,4,6}.*   (deep stem 3-64-64-128)
    bn1.*                 -> stem.7.*             (the stem's last BN)
    layer{1-4}.*          -> layer{1-4}.*         (same names)
    fc.weight, fc.bias    -> dropped              (ImageNet classifier)

Usage::

    python tools/model_converters/resnet_d2mmseg.py \\
        resnet18-deep-inplane128.pth \\
        pretrain/resnet18-deep-inplane128_mmseg.pth --config \\
        configs/sfnet/sfnet_r18-d32_in1k-pre_4xb2-50k_cityscapes-512x1024.py  # noqa

With ``--config`` the keys are checked against the config's backbone
(unexpected or mis-shaped keys fail and nothing is written). The
``*_in1k-pre_*`` configs of configs/sfnet and configs/pfnet read the file
from ``pretrain/``.
"""
import sys

from mmseg_ext.models.ckpt_convert.imagenet import resnet_d_main

if __name__ == '__main__':
    sys.exit(resnet_d_main())
