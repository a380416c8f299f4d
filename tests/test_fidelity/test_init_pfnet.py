"""PFNet initialises as the official code (lxtGH/PFSegNets).

Official rules, read from the official code:

* backbone (``network/resnet_d.py``, ``ResNet.__init__``, the class
  ``resnet50``/``resnet101`` build): every conv
  ``kaiming_normal_(mode='fan_out', nonlinearity='relu')`` -> N(0, std),
  std = sqrt(2 / fan_out); every BN gamma = 1, beta = 0 (the Bottleneck's
  last BN included: no zero-init residual).
* neck + head (``network/pointflow_resnet_with_max_avg_pool.py``
  ``UperNetAlignHeadMaxAvgpool``, ``network/nn/point_flow.py``
  ``PointFlowModuleWithMaxAvgpool``/``PointMatcher``, ``network/nn/
  operators.py`` ``PSPModule``): no initialiser is called, so every conv
  keeps PyTorch's default, weight and bias U(-b, b), b = 1/sqrt(fan_in);
  BN gamma = 1, beta = 0.
"""
import os.path as osp

from conftest import REPO
from init_rules import (check_model_init, is_conv_or_linear, is_norm,
                        kaiming_normal_fan_out_relu, norm_ones_zeros,
                        torch_default)
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import mmseg_ext  # noqa: F401

CFG = osp.join(REPO, 'configs', 'pfnet',
               'pfnet_r50-d32_8xb2-34k_isaid-896x896.py')


def official_rule(name, module):
    if is_norm(module):
        return norm_ones_zeros
    if is_conv_or_linear(module):
        if name.startswith('backbone.'):
            return kaiming_normal_fan_out_relu
        return torch_default
    return None


def builder(**overrides):
    init_default_scope('mmseg')
    cfg = Config.fromfile(CFG)
    cfg.merge_from_dict(overrides)
    return lambda: MODELS.build(cfg.model)


def test_pfnet_r50_init_follows_official_rules():
    # one seed: the neck/head init code is SFNet's, checked over 3 seeds
    expected = check_model_init(builder(), official_rule, seeds=(0, ))
    # mmseg's ResNet would start this BN at gamma = 0 (zero_init_residual)
    assert expected['backbone.layer1.0.bn3.weight'] == ('const', 1.0)
    assert expected['neck.point_flows.0.down_h.bias'][0] == 'uniform'
