"""``tests/data/sfnet_golden.pth`` from the official SFNet code.

Official code: https://github.com/lxtGH/SFSegNets, commit ``ba475ba``
(``network/nn/operators.py:AlignedModule``,
``network/sfnet_resnet.py:UperNetAlignHead`` / ``AlignNetResNet``); paper:
Li et al., "Semantic Flow for Fast and Accurate Scene Parsing", ECCV 2020,
Sec. 3.2-3.3. Regenerate with::

    PYTHONPATH=/path/to/SFSegNets python -m tools.misc.make_golden sfnet \\
        --out tests/data/sfnet_golden.pth

The fixture (CPU, float32, eval mode, official key layout) holds

* ``fam``: one ``AlignedModule(16, 8)`` with random weights on a non-2x
  size pair (low 13x17, high 7x9) and a 2x pair (14x18 / 7x9);
* ``head``: ``UperNetAlignHead(48, 5, fpn_inplanes=[16, 24, 32, 48],
  fpn_dim=16, fpn_dsn=True)`` with random weights and BN statistics on the
  four levels of a 100x130 image at output stride 32, giving the logits and
  the three DSN maps (``dsn['0']`` finest);
* ``full_r18_dsn``: the whole R-18 DSN ``AlignNetResNet`` (19 classes)
  whose weights are not stored but filled by :func:`det_fill` (RNG-free) in
  key order (:func:`official_r18_dsn_state_dict`), on a 65x97 image: the
  four stage outputs, the logits and the DSN maps;
* ``official_keys``: key -> shape of the official R-18 (DSN), R-50 and
  R-101 (``DeepR50_SF_deeply`` / ``DeepR101_SF_deeply``) networks.

Stand-ins (only inside :func:`build`): ``apex`` (:func:`~.common.apex_stub`)
if it is not installed; plain BN and no ImageNet files
(:func:`~.common.bn_and_no_pretrained`).
"""
import math

import torch
import torch.nn as nn

from .common import (OfficialCode, apex_stub, bn_and_no_pretrained, key_shapes,
                     one_thread, randn, randomize_, save_golden, uniform_)

REPO, COMMIT = 'lxtGH/SFSegNets', 'ba475ba'
SEED = 20200823  # ECCV 2020


def det_fill(shape, salt: int, kind: str) -> torch.Tensor:
    """RNG-free float32 values of ``shape`` for one state-dict entry.

    ``sin(arange(n) * 0.7548776662 + salt * 1.3247179572 + 0.5)``, scaled
    by ``kind``: ``'conv'`` (He scale), ``'bias'``, ``'bn_weight'``,
    ``'bn_bias'``, ``'running_mean'``, ``'running_var'``.

    Raises:
        ValueError: For another ``kind``.
    """
    n = math.prod(shape)
    base = torch.sin(
        torch.arange(n, dtype=torch.float64) * 0.7548776662 +
        salt * 1.3247179572 + 0.5)
    if kind == 'conv':
        t = base * math.sqrt(2.0 / (n // shape[0]))
    elif kind == 'bias':
        t = base * 0.1
    elif kind == 'bn_weight':
        t = 1.0 + 0.2 * base
    elif kind in ('bn_bias', 'running_mean'):
        t = 0.1 * base
    elif kind == 'running_var':
        t = 1.0 + 0.5 * base
    else:
        raise ValueError(kind)
    return t.to(torch.float32).reshape(shape)


def official_r18_dsn_state_dict(golden: dict) -> dict:
    """The official-layout R-18 DSN weights of ``golden['full_r18_dsn']``.

    Entry ``i`` of ``golden['full_r18_dsn']['keys']`` is
    ``det_fill(shape, salt=i, kind)``, the kind read from the key (a
    ``weight``/``bias`` is a BN's if its module has a ``running_mean``);
    ``num_batches_tracked`` is 0.
    """
    shapes = golden['official_keys']['r18_dsn']
    sd = {}
    for salt, key in enumerate(golden['full_r18_dsn']['keys']):
        shape = shapes[key]
        module, leaf = key.rsplit('.', 1)
        if leaf == 'num_batches_tracked':
            sd[key] = torch.tensor(0, dtype=torch.long)
            continue
        if len(shape) == 4:
            kind = 'conv'
        elif leaf in ('running_mean', 'running_var'):
            kind = leaf
        elif module + '.running_mean' in shapes:
            kind = 'bn_weight' if leaf == 'weight' else 'bn_bias'
        else:
            kind = 'bias'
        sd[key] = det_fill(shape, salt, kind)
    return sd


def _dsn(out: list) -> dict:
    # the official head appends the DSN maps coarse to fine
    return {str(level): t for level, t in enumerate(reversed(out))}


def _strong_flows_(module, gen):
    """flow_make weights U(-0.5, 0.5): flows of several pixels, so that the
    warp (not only the upsampling) is exercised."""
    for name, mod in module.named_modules():
        if name.endswith('flow_make'):
            uniform_(mod.weight, gen, -0.5, 0.5)
    return module


def _fam(operators, gen):
    fam = randomize_(operators.AlignedModule(16, 8), gen)
    fam = _strong_flows_(fam, gen).eval()
    cases = {}
    for case, low_hw in (('odd', (13, 17)), ('x2', (14, 18))):
        low, high = randn(gen, 2, 16, *low_hw), randn(gen, 2, 16, 7, 9)
        cases[case] = dict(low=low, high=high, out=fam([low, high]))
    return dict(state_dict=fam.state_dict(), cases=cases)


def _head(sfnet, gen):
    cfg = dict(
        inplane=48, fpn_inplanes=[16, 24, 32, 48], fpn_dim=16, num_class=5)
    head = sfnet.UperNetAlignHead(
        cfg['inplane'],
        num_class=cfg['num_class'],
        norm_layer=nn.BatchNorm2d,
        fpn_inplanes=cfg['fpn_inplanes'],
        fpn_dim=cfg['fpn_dim'],
        fpn_dsn=True)
    head = _strong_flows_(randomize_(head, gen), gen)
    for dsn in head.dsn:  # sizeable biases to fold into the BN (converter)
        uniform_(dsn[0].bias, gen, -1.0, 1.0)
    head.eval()
    inputs = [
        uniform_(torch.empty(2, c, h, w), gen, -1.0, 1.0)
        for c, (h, w) in zip(cfg['fpn_inplanes'], ((25, 33), (13, 17), (7, 9),
                                                   (4, 5)))
    ]
    logits, out = head(inputs)
    state_dict = {f'head.{k}': v for k, v in head.state_dict().items()}
    return dict(
        cfg=cfg,
        state_dict=state_dict,
        inputs=inputs,
        logits=logits,
        dsn=_dsn(out))


def _full_r18_dsn(model, official_keys, gen):
    keys = list(official_keys['r18_dsn'])
    golden = dict(official_keys=official_keys, full_r18_dsn=dict(keys=keys))
    model.load_state_dict(official_r18_dsn_state_dict(golden), strict=True)
    model.eval()
    img = randn(gen, 1, 3, 65, 97)
    feats = []
    x = model.layer0(img)
    for layer in (model.layer1, model.layer2, model.layer3, model.layer4):
        x = layer(x)
        feats.append(x)
    logits, out = model.head(feats)
    return dict(img=img, feats=feats, logits=logits, dsn=_dsn(out), keys=keys)


@torch.no_grad()
def build(out_path: str, seed: int = SEED) -> None:
    """Run the official code and save the fixture to ``out_path``.

    Args:
        out_path (str): Where to write (atomically).
        seed (int | str): Seed of the ``torch.Generator`` all random
            weights and inputs are drawn from (a string from
            ``make_golden.py --opt seed=N`` is converted).

    Raises:
        ImportError: If the official code is not importable (the message
            names the repository and the ``PYTHONPATH`` fix).
    """
    with OfficialCode(REPO, COMMIT, 'sfnet', {'apex': apex_stub}) as code, \
            one_thread():
        sfnet = code.import_module('network.sfnet_resnet')
        operators = code.import_module('network.nn.operators')
        with bn_and_no_pretrained(code, (18, 50, 101)):
            gen = torch.Generator().manual_seed(int(seed))
            r18_dsn = sfnet.AlignNetResNet(
                19,
                trunk='resnet-18-deep',
                variant='D',
                skip='m1',
                fpn_dsn=True)
            official_keys = dict(
                r18_dsn=key_shapes(r18_dsn),
                r50=key_shapes(sfnet.DeepR50_SF_deeply(19, None)),
                r101=key_shapes(sfnet.DeepR101_SF_deeply(19, None)))
            golden = dict(
                meta=dict(
                    official_repo=REPO,
                    official_commit=COMMIT,
                    generator='tools.fidelity.golden.sfnet.build('
                    f'seed={seed}): official AlignedModule, '
                    'UperNetAlignHead, AlignNetResNet; torch '
                    f'{torch.__version__}, CPU, float32, eval mode',
                    det_fill='sin(arange(n)*0.7548776662 + '
                    'salt*1.3247179572 + 0.5); salt = index in '
                    'full_r18_dsn.keys order'),
                fam=_fam(operators, gen),
                head=_head(sfnet, gen),
                official_keys=official_keys,
                full_r18_dsn=_full_r18_dsn(r18_dsn, official_keys, gen))
    save_golden(golden, out_path)
