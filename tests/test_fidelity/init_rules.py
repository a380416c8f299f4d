"""Initialisation rules of the official codes, as distributions, and checks.

Each rule gives, for one parameter, the distribution the official code
draws it from (stated from the official source, not copied from it):

* ``kaiming_normal(fan, gain)``: N(0, std), std = gain / sqrt(fan)
  (torch ``kaiming_normal_``; gain sqrt(2) for relu, sqrt(2 / (1 + a^2)) for
  leaky_relu with slope a).
* ``uniform(b)``: U(-b, b), std = b / sqrt(3), |x| <= b.
* ``const(v)``: every entry exactly v.

:func:`check_model_init` builds fresh models for several seeds, calls
``init_weights()``, pools each parameter over the seeds and compares its
sample mean/std with the rule (tolerance: 5 standard errors of the estimate),
BN/constant entries exactly, and fails if any parameter has no rule.
"""
import math
from typing import Callable, Dict, List, Optional, Tuple

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

# (kind, value): ('normal', std) | ('uniform', bound) | ('const', value)
Dist = Tuple[str, float]
# module -> {param name: Dist}
Rule = Callable[[nn.Module], Dict[str, Dist]]


def fans(weight: torch.Tensor) -> Tuple[int, int]:
    """(fan_in, fan_out) of a conv/linear weight, as torch computes them."""
    receptive = weight[0][0].numel() if weight.dim() > 2 else 1
    return weight.shape[1] * receptive, weight.shape[0] * receptive


def _bias(m: nn.Module, dist: Dist) -> Dict[str, Dist]:
    return {'bias': dist} if getattr(m, 'bias', None) is not None else {}


def kaiming_normal_fan_out_relu(m: nn.Module) -> Dict[str, Dist]:
    """``kaiming_normal_(w, mode='fan_out', nonlinearity='relu')``:
    std = sqrt(2 / fan_out); bias (if any) 0."""
    _, fan_out = fans(m.weight)
    return {
        'weight': ('normal', math.sqrt(2.0 / fan_out)),
        **_bias(m, ('const', 0.0))
    }


def kaiming_normal_fan_in(gain: float) -> Rule:
    """``kaiming_normal_(w)`` (fan_in): std = gain / sqrt(fan_in); bias 0."""

    def rule(m: nn.Module) -> Dict[str, Dist]:
        fan_in, _ = fans(m.weight)
        return {
            'weight': ('normal', gain / math.sqrt(fan_in)),
            **_bias(m, ('const', 0.0))
        }

    return rule


def normal(std: float) -> Rule:
    """mmcv/mmengine ``normal_init(m, std)``: weight N(0, std) (BN weight
    included), bias 0."""

    def rule(m: nn.Module) -> Dict[str, Dist]:
        return {'weight': ('normal', std), **_bias(m, ('const', 0.0))}

    return rule


def const(**values: float) -> Rule:
    """Every named parameter of the module exactly at the given value."""

    def rule(m: nn.Module) -> Dict[str, Dist]:
        return {k: ('const', v) for k, v in values.items()}

    return rule


def torch_default(m: nn.Module) -> Dict[str, Dist]:
    """PyTorch's ``reset_parameters`` of Conv/Linear: weight and bias
    U(-b, b), b = 1/sqrt(fan_in) (``kaiming_uniform_(a=sqrt(5))``)."""
    fan_in, _ = fans(m.weight)
    b = 1.0 / math.sqrt(fan_in)
    return {'weight': ('uniform', b), **_bias(m, ('uniform', b))}


def paddle_default(m: nn.Module) -> Dict[str, Dist]:
    """PaddlePaddle's default initialisers. Conv: weight
    N(0, sqrt(2 / (prod(kernel) * in_channels))), the full input width even
    for grouped convs; Linear: Xavier-uniform, bound sqrt(6 / (in + out));
    bias 0."""
    if isinstance(m, nn.Linear):
        w = ('uniform', math.sqrt(6.0 / (m.in_features + m.out_features)))
    else:
        fan = math.prod(m.kernel_size) * m.in_channels
        w = ('normal', math.sqrt(2.0 / fan))
    return {'weight': w, **_bias(m, ('const', 0.0))}


def norm_ones_zeros(m: nn.Module) -> Dict[str, Dist]:
    """BN/GN gamma = 1, beta = 0."""
    out = {}
    if getattr(m, 'weight', None) is not None:
        out['weight'] = ('const', 1.0)
    return {**out, **_bias(m, ('const', 0.0))}


def _check(name: str, samples: List[torch.Tensor], dist: Dist) -> None:
    kind, value = dist
    x = torch.cat([s.flatten() for s in samples])
    if kind == 'const':
        assert torch.all(x == value), (
            f'{name}: expected all {value}, got min {x.min():.4g} max '
            f'{x.max():.4g}')
        return
    n = x.numel()
    if kind == 'uniform':
        assert x.abs().max().item() <= value * (1 + 1e-6), (
            f'{name}: |x| max {x.abs().max().item():.4g} beyond the '
            f'uniform bound {value:.4g}')
    if n < 8:  # too few entries for a std estimate (e.g. a 1-channel bias)
        assert torch.isfinite(x).all() and torch.any(x != 0), name
        return
    std = value if kind == 'normal' else value / math.sqrt(3)
    # standard error of the sample std: 1/sqrt(2n) (normal),
    # 0.45/sqrt(n) (uniform, kurtosis 1.8)
    se = 1 / math.sqrt(2 * n) if kind == 'normal' else 0.45 / math.sqrt(n)
    got_std = x.std().item()
    assert abs(got_std / std - 1) <= 5 * se + 1e-3, (
        f'{name}: {kind} rule std {std:.4g}, got {got_std:.4g} (n={n})')
    assert abs(x.mean().item()) <= 5 * std / math.sqrt(n), (
        f'{name}: mean {x.mean().item():.4g} not ~0 (std {std:.4g}, n={n})')


def check_model_init(
    build: Callable[[], nn.Module],
    rule_for: Callable[[str, nn.Module], Optional[Rule]],
    seeds=(0, 1, 2)
) -> Dict[str, Dist]:
    """Check ``build()``'s ``init_weights()`` against the official rules.

    Args:
        build: Returns a fresh, not yet initialised model.
        rule_for: (module name, module) -> the official rule of that module's
            own parameters, or None for modules holding none.

    Returns:
        dict: parameter name -> the rule's distribution (all parameters).

    Raises:
        AssertionError: A parameter without a rule, off its rule, or (with
            two seeds or more) equal across seeds.
    """
    runs: List[Dict[str, torch.Tensor]] = []
    expected: Dict[str, Dist] = {}
    for seed in seeds:
        torch.manual_seed(seed)
        model = build()
        torch.manual_seed(seed)
        model.init_weights()
        runs.append({
            k: v.detach().clone()
            for k, v in model.named_parameters()
        })
        if expected:
            continue
        for mname, m in model.named_modules():
            own = dict(m.named_parameters(recurse=False))
            if not own:
                continue
            rule = rule_for(mname, m)
            assert rule is not None, f'no official rule for {mname}'
            dists = rule(m)
            assert set(dists) == set(own), (mname, set(dists), set(own))
            for p, d in dists.items():
                expected[f'{mname}.{p}'] = d
    assert set(expected) == set(runs[0]), 'parameters without a rule'
    for name, dist in expected.items():
        _check(name, [r[name] for r in runs], dist)
        if dist[0] != 'const' and len(runs) > 1:
            assert not torch.equal(runs[0][name], runs[1][name]), (
                f'{name}: identical for two seeds')
    return expected


def is_norm(m: nn.Module) -> bool:
    return isinstance(m, (_BatchNorm, nn.GroupNorm))


def is_conv_or_linear(m: nn.Module) -> bool:
    return isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear))
