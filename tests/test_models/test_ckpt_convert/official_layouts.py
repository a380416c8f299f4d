"""Key and shape layouts of the official ImageNet weight files.

Written from the official model definitions (lxtGH/SFSegNets
``network/resnet_d.py`` ``ResNet``; MichaelFan01/STDC-Seg
``nets/stdcnet.py`` ``STDCNet813``), so that tests can write checkpoints
with every key and shape of the released files, filled with distinct
random values.
"""
from collections import OrderedDict

import torch


def _bn(sd, name, c):
    sd[f'{name}.weight'] = (c, )
    sd[f'{name}.bias'] = (c, )
    sd[f'{name}.running_mean'] = (c, )
    sd[f'{name}.running_var'] = (c, )
    sd[f'{name}.num_batches_tracked'] = ()


def resnet_d_shapes(depth: int) -> 'OrderedDict':
    """``{key: shape}`` of ``resnet{depth}-deep*.pth`` (official ResNet)."""
    bottleneck = depth != 18
    blocks = {18: (2, 2, 2, 2), 50: (3, 4, 6, 3), 101: (3, 4, 23, 3)}[depth]
    exp = 4 if bottleneck else 1
    sd = OrderedDict()
    sd['conv1.0.weight'] = (64, 3, 3, 3)
    _bn(sd, 'conv1.1', 64)
    sd['conv1.3.weight'] = (64, 64, 3, 3)
    _bn(sd, 'conv1.4', 64)
    sd['conv1.6.weight'] = (128, 64, 3, 3)
    _bn(sd, 'bn1', 128)
    inplanes = 128
    for stage, (planes, n) in enumerate(zip((64, 128, 256, 512), blocks), 1):
        stride = 1 if stage == 1 else 2
        for b in range(n):
            p = f'layer{stage}.{b}'
            if bottleneck:
                sd[f'{p}.conv1.weight'] = (planes, inplanes, 1, 1)
                _bn(sd, f'{p}.bn1', planes)
                sd[f'{p}.conv2.weight'] = (planes, planes, 3, 3)
                _bn(sd, f'{p}.bn2', planes)
                sd[f'{p}.conv3.weight'] = (planes * 4, planes, 1, 1)
                _bn(sd, f'{p}.bn3', planes * 4)
            else:
                sd[f'{p}.conv1.weight'] = (planes, inplanes, 3, 3)
                _bn(sd, f'{p}.bn1', planes)
                sd[f'{p}.conv2.weight'] = (planes, planes, 3, 3)
                _bn(sd, f'{p}.bn2', planes)
            if b == 0 and (stride != 1 or inplanes != planes * exp):
                sd[f'{p}.downsample.0.weight'] = (planes * exp, inplanes, 1, 1)
                _bn(sd, f'{p}.downsample.1', planes * exp)
            inplanes = planes * exp
    sd['fc.weight'] = (1000, 512 * exp)
    sd['fc.bias'] = (1000, )
    return sd


def _cat_bottleneck(sd, name, cin, cout, stride, block_num=4):
    for idx in range(block_num):
        if idx == 0:
            i, o, k = cin, cout // 2, 1
        elif idx == 1:
            i, o, k = cout // 2, cout // 4, 3
        elif idx < block_num - 1:
            i, o, k = cout // 2**idx, cout // 2**(idx + 1), 3
        else:
            i, o, k = cout // 2**idx, cout // 2**idx, 3
        sd[f'{name}.conv_list.{idx}.conv.weight'] = (o, i, k, k)
        _bn(sd, f'{name}.conv_list.{idx}.bn', o)
    if stride == 2:
        sd[f'{name}.avd_layer.0.weight'] = (cout // 2, 1, 3, 3)
        _bn(sd, f'{name}.avd_layer.1', cout // 2)


def stdc813_shapes() -> 'OrderedDict':
    """``{key: shape}`` of ``STDCNet813M_73.91.tar``'s ``state_dict``
    (``features`` only; see :func:`stdc813_state_dict` for the rest)."""
    sd = OrderedDict()
    sd['features.0.conv.weight'] = (32, 3, 3, 3)
    _bn(sd, 'features.0.bn', 32)
    sd['features.1.conv.weight'] = (64, 32, 3, 3)
    _bn(sd, 'features.1.bn', 64)
    for i, (cin, cout, s) in enumerate([(64, 256, 2), (256, 256, 1),
                                        (256, 512, 2), (512, 512, 1),
                                        (512, 1024, 2), (1024, 1024, 1)], 2):
        _cat_bottleneck(sd, f'features.{i}', cin, cout, s)
    return sd


def random_state_dict(shapes, seed=0) -> 'OrderedDict':
    """Distinct random tensors of ``shapes`` (running_var positive)."""
    g = torch.Generator().manual_seed(seed)
    out = OrderedDict()
    for k, shape in shapes.items():
        if k.endswith('num_batches_tracked'):
            out[k] = torch.tensor(1000 + len(out))
        elif k.endswith('running_var'):
            out[k] = torch.rand(shape, generator=g) + 0.5
        else:
            out[k] = torch.randn(shape, generator=g)
    return out


def stdc813_state_dict(seed=0) -> 'OrderedDict':
    """Every entry of STDCNet813's ``state_dict()``: ``features.*``, the
    ``x2/x4/x8/x16/x32`` slices (the same tensors again), ``conv_last``,
    ``fc``, ``bn`` (1-d) and ``linear``."""
    sd = random_state_dict(stdc813_shapes(), seed)
    extra = OrderedDict()
    extra['conv_last.conv.weight'] = (1024, 1024, 1, 1)
    _bn(extra, 'conv_last.bn', 1024)
    extra['fc.weight'] = (1024, 1024)
    _bn(extra, 'bn', 1024)
    extra['linear.weight'] = (1000, 1024)
    out = OrderedDict(sd)
    for alias, ids in (('x2', (0, )), ('x4', (1, )), ('x8', (2, 3)),
                       ('x16', (4, 5)), ('x32', (6, 7))):
        for k, v in sd.items():
            i = int(k.split('.')[1])
            if i in ids:
                out[f'{alias}.0.{k[len("features."):]}'] = v
    out.update(random_state_dict(extra, seed + 1))
    return out
