"""GloRe and GINet initialise as the SemSegPaddle / PaddleSeg code.

Official rules, read from the official code (no initialiser of their own:
PaddlePaddle's defaults everywhere):

* conv (``fluid.layers.conv2d`` for SemSegPaddle ``src/models/libs/
  model_libs.py`` ``conv``/``conv1d``/``FCNHead`` and ``src/models/backbone/
  resnet.py``; ``paddle.nn.Conv1D/Conv2D`` for PaddleSeg
  ``paddleseg/models/ginet.py``, its ``JPU`` and ``AuxLayer``): weight
  N(0, std), std = sqrt(2 / (k_h * k_w * in_channels)), full input width;
  bias 0. SemSegPaddle's ``conv`` overwrites the TruncatedNormal(0.01) its
  classifier asks for, so the classifier follows this rule too.
* ``nn.Linear`` (GINet ``fc1``/``fc2``): Xavier-uniform, U(-l, l),
  l = sqrt(6 / (in + out)); bias 0.
* BN: gamma 1, beta 0, the backbone's residual BNs and the GloRe unit's
  last BN included (no zero-init): SemSegPaddle calls ``bn`` there (its
  ``bn_zero`` line is commented out), so the configs set
  ``zero_init_norm=False``; the class default keeps the GloRe authors'
  gamma 0 (pinned by tests/test_models/test_decode_heads/test_glore_head.py).
* GINet's ``gamma_vis``/``gamma_word`` start at 0 (``Assign(zeros)``), the SC
  loss centroid at 1.

The backbone rule is checked on the documented from-scratch set-up
(``model.pretrained=None`` + ``backbone.init_cfg=PaddleDefault``); the
shipped configs load ImageNet weights, as the official ones do.
"""
import os.path as osp

import pytest
from conftest import REPO
from init_rules import (check_model_init, const, is_conv_or_linear, is_norm,
                        norm_ones_zeros, paddle_default)
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import mmseg_ext  # noqa: F401
from mmseg_ext.models.decode_heads.ginet_head import GraphInteraction

CONFIGS = {
    'glore': 'glore/glore_r50-d8_4xb2-80k_cityscapes-512x1024.py',
    'ginet': 'ginet/ginet_r50-d8_4xb2-80k_cityscapes-512x1024.py',
}


def official_rule(name, module):
    if name == 'decode_head':
        return const(semantic_centroid=1.0)
    if isinstance(module, GraphInteraction):
        return const(gamma_vis=0.0, gamma_word=0.0)
    if is_norm(module):
        return norm_ones_zeros
    if is_conv_or_linear(module):
        return paddle_default
    return None


@pytest.mark.parametrize('family', ['glore', 'ginet'])
def test_init_follows_paddle_defaults(family):
    init_default_scope('mmseg')
    cfg = Config.fromfile(osp.join(REPO, 'configs', CONFIGS[family]))
    cfg.model.pretrained = None
    cfg.model.backbone.init_cfg = dict(
        type='PaddleDefault', layer=['Conv2d', '_BatchNorm'])
    expected = check_model_init(
        lambda: MODELS.build(cfg.model),
        official_rule,
        # two seeds for GINet; GloRe shares its backbone and aux head
        seeds=(0, 1) if family == 'ginet' else (0, ))
    assert expected['decode_head.conv_seg.weight'] == ('normal',
                                                       (2 / 512)**0.5)
    assert expected['backbone.layer1.0.bn3.weight'] == ('const', 1.0)
