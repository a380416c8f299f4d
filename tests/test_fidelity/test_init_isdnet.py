"""ISDNet initialises as the official code (cedricgsh/ISDNet, mmseg 0.16).

The official model is built and initialised by MMSegmentation 0.16 / mmcv
1.x (``init_weights`` as in mmengine: a module's ``init_cfg`` first, then
its direct children's own ``init_weights``), so its rules, read from the
official code, are those of the mmseg/mmcv classes it uses plus its own:

* backbone ``ResNetV1c`` (``mmseg/models/backbones/resnet.py``): conv
  ``Kaiming`` (fan_out, relu) -> N(0, sqrt(2 / fan_out)); BN gamma = 1,
  beta = 0, except the last BN of every block, gamma = 0
  (``zero_init_residual=True``). (The official configs then load
  ``open-mmlab://resnet18_v1c``; ours too.)
* ``ConvModule`` convs everywhere: ``kaiming_init`` fan_out relu, as above;
  their BN gamma = 1, beta = 0.
* ``conv_seg`` of the ASPP and FCN heads: N(0, 0.01), bias 0
  (``BaseDecodeHead`` ``init_cfg``); of ``ISDHead`` the same ``Normal``
  override hits the whole ``SegmentationHead`` (``isdhead.py``), its BN
  weight included.
* ``ShallowNet.init_params`` (``stdc_head.py``, used when no STDC file is
  given): conv ``kaiming_normal_(mode='fan_out')`` (gain sqrt(2)), BN 1 / 0.
* not re-initialised (``RelationAwareFusion``, ``SRDecoder``,
  ``SegmentationHead`` of the aux/SR outputs are plain ``nn.Module``
  grandchildren): ``nn.Linear`` and the plain 1x1 ``conv_out`` keep
  PyTorch's default, U(-b, b), b = 1/sqrt(fan_in); the gates ``g1``/``g2``
  are zeros.
"""
import os.path as osp
import re

from conftest import REPO
from init_rules import (check_model_init, const, is_conv_or_linear, is_norm,
                        kaiming_normal_fan_out_relu, norm_ones_zeros, normal,
                        torch_default)
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import mmseg_ext  # noqa: F401

CFG = osp.join(REPO, 'configs', 'isdnet',
               'isdnet_r18-d8_4xb2-80k_deepglobe-1224x1224.py')


def official_rule(name, module):
    if name.startswith('refine_head.conv_seg.') or name in (
            'decode_head.conv_seg', 'auxiliary_head.conv_seg'):
        return normal(0.01)
    if is_norm(module):
        if re.fullmatch(r'backbone\.layer\d\.\d+\.bn2', name):
            return const(weight=0.0, bias=0.0)
        return norm_ones_zeros
    if isinstance(module, mmseg_ext.models.utils.RelationAwareFusion):
        return const(spatial_gate=0.0, context_gate=0.0)
    if is_conv_or_linear(module):
        if name.endswith('conv_out') or 'mlp' in name:
            return torch_default
        return kaiming_normal_fan_out_relu
    return None


def test_isdnet_r18_init_follows_official_rules():
    init_default_scope('mmseg')
    cfg = Config.fromfile(CFG)
    # from scratch: no ImageNet ResNet-18 / STDC1 files
    cfg.model.pretrained = None
    cfg.model.refine_head.shallow_net.init_cfg = None
    expected = check_model_init(
        lambda: MODELS.build(cfg.model), official_rule, seeds=(0, 1))
    assert expected['refine_head.conv_seg.conv_bn_relu.bn.weight'] == (
        'normal', 0.01)
    assert expected['refine_head.aux_head_8.conv_out.bias'][0] == 'uniform'
