"""Build ``tests/data/isdnet_golden.pth`` from the official ISDNet code.

The fixture holds outputs of the official modules (cedricgsh/ISDNet, commit
7341335, ``mmseg/models/decode_heads/isdhead.py`` and ``stdc_head.py``,
``aspp_refine_head.py``, ``segmentors/encoder_decoder_refine.py``; ISDNet,
CVPR 2022) on the CPU in float32, eval mode, one torch thread, which
``tests/test_fidelity/test_isdnet_parity.py`` compares our modules against:

* ``lap``: ``Lap_Pyramid_Conv(num_high).pyramid_decom`` on even (2, 3, 32,
  48), odd (1, 3, 37, 50), tiny (1, 3, 5, 7) and 3-level (1, 3, 45, 61)
  inputs: ``img``, ``num_high`` and the ``residuals``;
* ``raf``: one ``RelationAwareFusion(128, ext=4)`` (non-zero gates) on a
  (2, 512, 4, 6) spatial and a (2, 128, 3, 5) context map: ``s_feat``,
  ``c_feat``, ``out``;
* ``shallow_imagenet``: the official ``ShallowNet(in_channels=6)`` after its
  ``init_weight`` loaded a synthetic STDC813 ImageNet file (``features.*``
  of the official 3-stage STDC813 layout and a ``fc.weight``; the stem is
  duplicated to 6 channels), on a (1, 6, 48, 64) input: ``feat8``,
  ``feat16``;
* ``isd_head``: a whole official ``ISDHead`` (the DeepGlobe config's, 7
  classes) on a (2, 3, 64, 96) image and a (2, 128, 2, 3) context: test
  ``logits`` and the training outputs (``logits_train``, ``aux16``,
  ``aux8``, ``recon_loss``, ``fa_loss``);
* ``full``: the official ``EncoderDecoderRefine.encode_decode`` of the
  DeepGlobe R-18 config (nearest x4 downsample, ResNet-18-V1c,
  ``RefineASPPHead``, ``ISDHead``, final resize) on a (1, 3, 64, 96) image:
  ``aspp_logits``, ``refine_logits`` (before the resize), ``seg_logits``.

Weights are not stored: each weighted case holds the official ``keys`` (in
state-dict order), their ``shapes`` and the ``aliases`` (the official
``stdc_net.x*`` keys share the ``features`` tensors); :func:`det_fill`
regenerates them RNG-free (:func:`official_state_dict`), BN statistics
included. Inputs come from a ``torch.Generator`` seeded per case, so two
builds give tensor-equal files. Stand-ins used while building (see
:mod:`._isdnet_official` for the import stubs): SyncBN becomes BN (mmengine's
``revert_sync_batchnorm``), the Gaussian kernel is built on the CPU (the
official default device is CUDA), and ``ISDHead``'s own ImageNet load of
``STDCNet813M_73.91.tar`` is skipped (its weights are overwritten).

Usage, with a checkout of https://github.com/cedricgsh/ISDNet (commit
7341335); the checkout goes in ``ISDNET_ROOT``, not on ``PYTHONPATH``, because
its package is also named ``mmseg``::

    ISDNET_ROOT=/path/to/ISDNet python -m tools.misc.make_golden isdnet \\
        --out tests/data/isdnet_golden.pth
"""
import math
import os
import os.path as osp
import tempfile
from collections import OrderedDict

import torch

from ._isdnet_official import CONFIG, ENV, official_isdnet
from .common import one_thread, save_golden

LAP_CASES = OrderedDict(
    even=((2, 3, 32, 48), 2),
    odd=((1, 3, 37, 50), 2),
    tiny=((1, 3, 5, 7), 2),
    three=((1, 3, 45, 61), 3))
SCALES = {
    'conv': lambda b, n, s: b * math.sqrt(2.0 / (n // s[0])),
    'linear': lambda b, n, s: b * math.sqrt(1.0 / s[1]),
    'bias': lambda b, n, s: b * 0.1,
    'gate': lambda b, n, s: 0.5 + 0.25 * b,
    'bn_weight': lambda b, n, s: 1.0 + 0.2 * b,
    'bn_bias': lambda b, n, s: 0.1 * b,
    'running_mean': lambda b, n, s: 0.1 * b,
    'running_var': lambda b, n, s: 1.0 + 0.5 * b,
}


def det_fill(shape, salt, kind):
    """RNG-free weights: a scaled ``sin`` ramp, distinct per ``salt``.

    Args:
        shape (tuple[int]): Tensor shape.
        salt (int): Position of the key in the official state dict.
        kind (str): A key of :data:`SCALES` (He-like for convs, ~1 for BN
            weights and running variances, small for biases and means).

    Returns:
        Tensor: float32 tensor of ``shape``.
    """
    n = math.prod(shape)
    base = torch.sin(
        torch.arange(n, dtype=torch.float64) * 0.7548776662 +
        salt * 1.3247179572 + 0.5)
    return SCALES[kind](base, n, shape).to(torch.float32).reshape(shape)


def _kind(key, shapes):
    leaf = key.rsplit('.', 1)[-1]
    if leaf in ('running_mean', 'running_var'):
        return leaf
    if '.' in key and key.rsplit('.', 1)[0] + '.running_mean' in shapes:
        return 'bn_weight' if leaf == 'weight' else 'bn_bias'
    return {
        4: 'conv',
        2: 'linear'
    }.get(len(shapes[key]), 'gate' if leaf in ('g1', 'g2') else 'bias')


def official_state_dict(case):
    """Rebuild the official-layout weights of a fixture case.

    Args:
        case (dict): A fixture entry with ``keys``, ``shapes`` and optionally
            ``aliases`` (key -> the key whose tensor it shares).

    Returns:
        OrderedDict: key -> tensor, aliases sharing their target's tensor.
    """
    shapes = case['shapes']
    aliases = case.get('aliases', {})
    sd = OrderedDict()
    for salt, key in enumerate(case['keys']):
        if key in aliases:
            sd[key] = sd[aliases[key]]
        elif key.endswith('num_batches_tracked'):
            sd[key] = torch.tensor(0, dtype=torch.long)
        else:
            sd[key] = det_fill(tuple(shapes[key]), salt, _kind(key, shapes))
    return sd


def layout(state, prefix=''):
    """``keys``, ``shapes`` and ``aliases`` of an official state dict."""
    keys, shapes, aliases, first = [], {}, {}, {}
    for key, value in state.items():
        key = prefix + key
        keys.append(key)
        shapes[key] = tuple(value.shape)
        if id(value) in first:
            aliases[key] = first[id(value)]
        else:
            first[id(value)] = key
    return dict(keys=keys, shapes=shapes, aliases=aliases)


def _weighted(module, prefix=''):
    """Give ``module`` its det-filled weights; return its fixture layout."""
    from mmengine.model import revert_sync_batchnorm
    module = revert_sync_batchnorm(module)
    case = layout(module.state_dict(keep_vars=True), prefix)
    if not case['aliases']:
        del case['aliases']
    sd = official_state_dict(case)
    module.load_state_dict(
        OrderedDict((k[len(prefix):], v) for k, v in sd.items()), strict=True)
    return module.eval(), case


def _model_cfg(root):
    """The official DeepGlobe R-18 model config, SyncBN as BN."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(root, CONFIG)).model.to_dict()

    def to_bn(node):
        if isinstance(node, dict):
            if node.get('type') == 'SyncBN':
                node['type'] = 'BN'
            for value in node.values():
                to_bn(value)
        elif isinstance(node, list):
            for value in node:
                to_bn(value)

    to_bn(cfg)
    cfg['pretrained'] = None
    return cfg


def lap_cases(off, gen):
    """Official pyramid on the :data:`LAP_CASES` inputs."""
    cases = OrderedDict()
    for name, (shape, num_high) in LAP_CASES.items():
        img = torch.randn(shape, generator=gen)
        pyr = off.isdhead.Lap_Pyramid_Conv(num_high=num_high)
        cases[name] = dict(
            img=img, num_high=num_high, residuals=pyr.pyramid_decom(img))
    return cases


def raf_case(off, gen):
    """One official ``RelationAwareFusion(128, ext=4)`` (fuse16)."""
    raf = off.isdhead.RelationAwareFusion(
        128,
        None,
        dict(type='BN', requires_grad=True),
        dict(type='ReLU'),
        ext=4)
    raf, case = _weighted(raf)
    case['spatial'] = torch.randn((2, 512, 4, 6), generator=gen)
    case['context'] = torch.randn((2, 128, 3, 5), generator=gen)
    s_feat, c_feat, out = raf(case['spatial'], case['context'])
    case.update(s_feat=s_feat, c_feat=c_feat, out=out)
    return case


def shallow_imagenet_case(off, gen):
    """Official ``ShallowNet(in_channels=6)`` loading a synthetic STDC813."""
    stdc813 = off.stdc_head.ShallowNet(in_channels=3, layers=[2, 2, 2])
    keys = {
        k: v
        for k, v in stdc813.state_dict().items() if k.startswith('features.')
    }
    keys['fc.weight'] = torch.empty(1000, 1024)  # classifier, not loaded
    case = layout(keys)
    del case['aliases']
    with tempfile.TemporaryDirectory() as tmp:
        path = osp.join(tmp, 'STDCNet813M_73.91.tar')
        torch.save({'state_dict': official_state_dict(case)}, path)
        net = off.stdc_head.ShallowNet(in_channels=6, pretrain_model=path)
    from mmengine.model import revert_sync_batchnorm
    net = revert_sync_batchnorm(net).eval()
    case['input'] = torch.randn((1, 6, 48, 64), generator=gen)
    case['feat8'], case['feat16'] = net(case['input'])
    return case


def isd_head_case(off, cfg, gen):
    """A whole official ``ISDHead``: test logits and training outputs."""
    head_cfg = dict(cfg['decode_head'][1])
    head, case = _weighted(off.registry.build(head_cfg))
    img = torch.randn((2, 3, 64, 96), generator=gen)
    context = torch.randn((2, 128, 2, 3), generator=gen)
    case.update(img=img, context=context, logits=head(img, [context], False))
    # train_flag=True: main and auxiliary logits, recon and affinity losses
    seg, aux16, aux8, recon, fa = head(img, [context])
    case.update(zip(('logits_train', 'aux16', 'aux8'), (seg, aux16, aux8)))
    case['recon_loss'] = recon['recon_losses']
    case['fa_loss'] = fa['fa_loss']
    return case


def _record(head, store, name, pick):
    """Wrap ``head.forward_test`` to keep ``pick(output)`` in ``store``."""
    forward_test = head.forward_test

    def wrapped(*args, **kwargs):
        out = forward_test(*args, **kwargs)
        store[name] = pick(out)
        return out

    head.forward_test = wrapped


def full_case(off, cfg, gen):
    """The official ``EncoderDecoderRefine.encode_decode`` (R-18)."""
    model_cfg = dict(cfg)
    model, case = _weighted(off.registry.build(model_cfg))
    img = torch.randn((1, 3, 64, 96), generator=gen)
    _record(model.decode_head, case, 'aspp_logits', lambda out: out[0])
    _record(model.refine_head, case, 'refine_logits', lambda out: out)
    meta = dict(img_shape=img.shape[2:], ori_shape=img.shape[2:])
    case['seg_logits'] = model.encode_decode(img, [meta])
    case['img'] = img
    return case


def _skip_isd_imagenet_load(off):
    """``ISDHead`` loads ``STDCNet813M_73.91.tar`` from the working folder:
    skip it (the fixture overwrites every weight)."""
    off.stdc_head.ShallowNet.init_weight = lambda self, path: None


def _cpu_gauss_kernel(off):
    cls = off.isdhead.Lap_Pyramid_Conv
    cls.gauss_kernel.__defaults__ = (torch.device('cpu'), )


def build(out_path: str, official_root: str = None) -> None:
    """Write the ISDNet golden fixture to ``out_path`` (``torch.save``).

    Args:
        out_path (str): Destination file, written atomically.
        official_root (str, optional): Root of a cedricgsh/ISDNet checkout
            (commit 7341335). Default: the ``ISDNET_ROOT`` variable.

    Raises:
        ImportError: If no official checkout is given or it lacks the
            official files.
    """
    root = official_root or os.environ.get(ENV)
    with official_isdnet(root) as off, one_thread(), torch.no_grad():
        _cpu_gauss_kernel(off)
        cfg = _model_cfg(root)
        fixture = OrderedDict()
        fixture['lap'] = lap_cases(off, torch.Generator().manual_seed(0))
        fixture['raf'] = raf_case(off, torch.Generator().manual_seed(1))
        fixture['shallow_imagenet'] = shallow_imagenet_case(
            off,
            torch.Generator().manual_seed(2))
        _skip_isd_imagenet_load(off)
        fixture['isd_head'] = isd_head_case(off, cfg,
                                            torch.Generator().manual_seed(3))
        fixture['full'] = full_case(off, cfg, torch.Generator().manual_seed(4))
    save_golden(fixture, out_path)
