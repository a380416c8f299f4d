"""SFNet initialises as the official code (lxtGH/SFSegNets).

Official rules, read from the official code:

* backbone (``network/resnet_d.py``, ``ResNet.__init__``): every conv
  ``kaiming_normal_(mode='fan_out', nonlinearity='relu')`` -> N(0, std),
  std = sqrt(2 / fan_out); every BN gamma = 1, beta = 0 (no zero-initialised
  residual BN). The ``fc`` it also builds is deleted by ``AlignNetResNet``.
* neck + head (``network/sfnet_resnet.py`` ``UperNetAlignHead``,
  ``network/nn/operators.py`` ``PSPModule``/``AlignedModule``, and the DSN
  heads): no initialiser is called, so every conv keeps PyTorch's default,
  weight and bias U(-b, b), b = 1/sqrt(fan_in) (std b/sqrt(3)); BN gamma = 1,
  beta = 0.
"""
import os.path as osp

import pytest
from conftest import REPO
from init_rules import (check_model_init, is_conv_or_linear, is_norm,
                        kaiming_normal_fan_out_relu, norm_ones_zeros,
                        torch_default)
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import mmseg_ext  # noqa: F401

CFG = osp.join(REPO, 'configs', 'sfnet')


def official_rule(name, module):
    if is_norm(module):
        return norm_ones_zeros
    if is_conv_or_linear(module):
        if name.startswith('backbone.'):
            return kaiming_normal_fan_out_relu
        return torch_default
    return None


def builder(cfg_name, **overrides):
    init_default_scope('mmseg')
    cfg = Config.fromfile(osp.join(CFG, cfg_name))
    cfg.merge_from_dict(overrides)
    return lambda: MODELS.build(cfg.model)


def test_sfnet_r18_init_follows_official_rules():
    # the DSN config holds the whole plain R-18 network plus the DSN heads
    cfg_name = 'sfnet_r18-d32-dsn_4xb2-50k_cityscapes-512x1024.py'
    expected = check_model_init(builder(cfg_name), official_rule)
    # the residual BNs that mmseg zero-initialises start at gamma = 1
    assert expected['backbone.layer1.0.bn2.weight'] == ('const', 1.0)
    # the DSN heads are reached too (mmseg never calls their init_weights)
    assert expected['auxiliary_head.0.conv_seg.bias'][0] == 'uniform'


@pytest.mark.parametrize('overrides, culprit', [
    ({
        'model.backbone.zero_init_residual': True
    }, 'bn2.weight'),
    ({
        'model.decode_head.init_cfg':
        dict(type='Normal', std=0.01, override=dict(name='conv_seg'))
    }, 'decode_head'),
])
def test_check_catches_mmseg_default_init(overrides, culprit):
    """mmseg's defaults (zero-init residual BN, normal(0, 0.01) conv_seg)
    are not the official init, and the check says where."""
    with pytest.raises(AssertionError, match=culprit):
        check_model_init(
            builder('sfnet_r18-d32_4xb2-50k_cityscapes-512x1024.py',
                    **overrides),
            official_rule,
            seeds=(0, ))
