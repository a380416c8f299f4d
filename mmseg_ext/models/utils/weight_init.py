"""Initialisation rules of the official codes that mmengine cannot express.

The official SFNet/PFNet heads (lxtGH/SFSegNets ``network/sfnet_resnet.py``
``UperNetAlignHead``, ``network/nn/operators.py`` ``AlignedModule`` and
``PSPModule``; lxtGH/PFSegNets
``network/pointflow_resnet_with_max_avg_pool.py`` and ``network/nn/
point_flow.py``) never initialise their layers: every ``nn.Conv2d`` keeps
PyTorch's ``reset_parameters`` (weight ``kaiming_uniform_(a=sqrt(5))``, i.e.
U(-b, b) with b = 1/sqrt(fan_in); bias U(-b, b), same b) and every BN
gamma=1, beta=0. mmengine's ``Kaiming`` initialiser reproduces the weight but
sets a constant bias, so the rule is applied by calling the layers' own
``reset_parameters``.

The SemSegPaddle GloRe (PaddlePaddle/Research ``CV/SemSegPaddle/src/models/
modeling/glore.py``, ``libs/model_libs.py``) and PaddleSeg GINet
(``paddleseg/models/ginet.py``) layers take PaddlePaddle's default
initialisers: conv weight N(0, sqrt(2 / (k_h * k_w * in_channels))) with the
*full* input width even for grouped convs (``fluid.layers.conv2d`` /
``paddle.nn.Conv2D`` ``_get_default_param_initializer``), bias 0; ``Linear``
weight Xavier-uniform (``ParamAttr._set_default_param_initializer``), bias 0;
BN gamma 1, beta 0. (SemSegPaddle's ``conv()`` overwrites the
``TruncatedNormal(0.01)`` its ``get_logit_interp`` asks for with a bare name,
so its classifier takes the conv default too.)
"""
import math
from typing import Tuple, Type

import torch.nn as nn
from mmengine.model import BaseInit, update_init_info
from mmseg.registry import WEIGHT_INITIALIZERS
from torch.nn.modules.batchnorm import _BatchNorm

TORCH_DEFAULT_LAYERS: Tuple[Type[nn.Module], ...] = (nn.Conv2d, nn.Linear,
                                                     _BatchNorm, nn.GroupNorm)


def torch_default_init_(
        module: nn.Module,
        layers: Tuple[Type[nn.Module],
                      ...] = TORCH_DEFAULT_LAYERS) -> nn.Module:
    """Re-initialise every ``layers`` instance in ``module`` as PyTorch does
    at construction (their ``reset_parameters``), in place.

    Conv2d/Linear: weight U(-b, b), b = 1/sqrt(fan_in) (``kaiming_uniform_``
    with a=sqrt(5)), bias U(-b, b); BN/GN: weight 1, bias 0 (BN running
    statistics reset too). Draws from torch's global RNG.

    Returns:
        nn.Module: ``module``.
    """
    for m in module.modules():
        if isinstance(m, layers):
            m.reset_parameters()
    return module


def paddle_default_init_(module: nn.Module) -> nn.Module:
    """Re-initialise ``module``'s conv, linear and norm layers with
    PaddlePaddle's default initialisers (module docstring), in place.

    Conv1d/Conv2d: weight N(0, sqrt(2 / (prod(kernel) * in_channels))), bias
    0; Linear: weight U(-l, l), l = sqrt(6 / (in + out)), bias 0; BN/GN:
    weight 1, bias 0 (BN running statistics reset). Draws from torch's
    global RNG.

    Returns:
        nn.Module: ``module``.
    """
    for m in module.modules():
        _paddle_default_layer(m)
    return module


def _paddle_default_layer(m: nn.Module) -> bool:
    if isinstance(m, (nn.Conv1d, nn.Conv2d)):
        fan = math.prod(m.kernel_size) * m.in_channels
        nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / fan))
    elif isinstance(m, nn.Linear):
        nn.init.xavier_uniform_(m.weight)
    elif isinstance(m, (_BatchNorm, nn.GroupNorm)):
        m.reset_parameters()
        return True
    else:
        return False
    if m.bias is not None:
        nn.init.zeros_(m.bias)
    return True


class _LayerRuleInit(BaseInit):
    """An initialiser applying ``_apply(m)`` to the matched layers."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)

    def _apply(self, m: nn.Module) -> None:
        raise NotImplementedError

    def __call__(self, module: nn.Module) -> None:

        def init(m: nn.Module) -> None:
            if getattr(self, 'wholemodule', False):
                hit = isinstance(m, TORCH_DEFAULT_LAYERS + (nn.Conv1d, ))
            else:
                names = {c.__name__ for c in type(m).__mro__}
                hit = bool(names & set(self.layer or ()))
            if hit:
                self._apply(m)

        module.apply(init)
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=self._get_init_info())


@WEIGHT_INITIALIZERS.register_module(name='PaddleDefault')
class PaddleDefaultInit(_LayerRuleInit):
    """``init_cfg`` form of :func:`paddle_default_init_`:
    ``dict(type='PaddleDefault', layer=['Conv2d', 'Linear', '_BatchNorm'])``.

    Args:
        layer (str | list[str] | None): Layer class names to initialise
            (base classes included). An ``override`` (``dict(name=...)``)
            initialises every conv, linear and norm layer of the named module.
    """

    def _apply(self, m: nn.Module) -> None:
        _paddle_default_layer(m)

    def _get_init_info(self) -> str:
        return f'{self.__class__.__name__}: PaddlePaddle default initialisers'


@WEIGHT_INITIALIZERS.register_module(name='TorchDefault')
class TorchDefaultInit(_LayerRuleInit):
    """``init_cfg`` form of :func:`torch_default_init_`:
    ``dict(type='TorchDefault', layer=['Conv2d', '_BatchNorm'])``.

    Applies PyTorch's own ``reset_parameters`` to the matched layers (class
    names, base classes included, as mmengine's initialisers match them); the
    ``bias``/``bias_prob`` arguments of :class:`BaseInit` are ignored, the
    bias follows PyTorch's rule.

    Args:
        layer (str | list[str] | None): Layer class names to initialise.
            An ``override`` (``dict(name=...)``, which mmengine applies to the
            whole named module) resets its Conv2d, Linear, BN and GN layers.
    """

    def _apply(self, m: nn.Module) -> None:
        if hasattr(m, 'reset_parameters'):
            m.reset_parameters()

    def _get_init_info(self) -> str:
        return f'{self.__class__.__name__}: PyTorch reset_parameters'
