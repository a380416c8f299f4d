"""``tests/data/golden/isdnet_train_golden.pth``: K official ISDNet SGD steps.

Official code: https://github.com/cedricgsh/ISDNet, commit ``7341335``
(``mmseg/models/segmentors/encoder_decoder_refine.py:EncoderDecoderRefine``
``forward_train``, ``segmentors/base.py`` ``train_step`` /
``_parse_losses``, ``decode_heads/isdhead.py:ISDHead`` ``forward_train`` /
``image_recon_loss`` / ``feature_affinity_loss``,
``decode_heads/refine_decode_head.py`` / ``decode_head.py`` ``losses``,
``losses/cross_entropy_loss.py:CrossEntropyLoss``; the schedule of
``configs/_base_/schedules/schedule_80k.py``). Regenerate with::

    ISDNET_ROOT=/path/to/ISDNet python -m tools.misc.make_golden \\
        isdnet_train --out tests/data/golden/isdnet_train_golden.pth

The whole network of the official DeepGlobe config
(``configs/isdnet/isdnet_r18-d8_1224x1224_80k_DeepGlobe.py``:
7 classes; ResNet-18-V1c + ``RefineASPPHead`` on the x4 nearest-downsampled
image, ``ISDHead``, FCN auxiliary head) in train mode with BN (SyncBN
reverted to BN), trained :data:`~._train_step.K_STEPS` iterations as mmcv
1.x's ``IterBasedRunner`` + ``OptimizerHook`` run them: ``train_step``
(``forward_train`` then ``_parse_losses``, the sum of every ``*loss*`` key),
``zero_grad``, ``backward``, ``step`` of ``torch.optim.SGD`` over
``model.parameters()`` with the config's lr 0.01, momentum 0.9, weight decay
5e-4. The poly schedule (power 0.9, per iteration) would scale the lr of
steps 2 and 3 by 1 - 1.1e-5 and 1 - 2.2e-5 of 80k iterations; it is left
out here as on our side (no scheduler), like the other ``*_train``
fixtures. The official terms and weights: ASPP decode CE 1 (``decode``),
ISD main CE 1 (``refine``), the two RAF-context CEs 1 each (``aux_1``: the
1/8 context, ``aux_2``: the 1/16 one), reconstruction MSE 0.1 (``aux_3``),
feature affinity L1 1.0 with the SR side detached (``aux_4``) and the FCN
auxiliary CE 0.4 (``aux``); every CE is mmseg 0.x's mean over all pixels of
the logits bilinearly resized to the label size, 255 ignored. Batches: three
(4, 3, 96, 96) BGR uint8 images with blocky labels
(:func:`~._train_step.make_batches`): the deep branch sees 24 x 24 images
and gives a 3 x 3 context. Four images, because the train-mode BN of the
(N, C, 1, 1) maps (the ASPP image pool, the RAF attentions) with two
images normalises every channel to +-1, a degenerate point whose gradient is
float rounding; the official SyncBN over 4 GPUs x 2 normalises over eight.

Stored: ``batches``, ``layout`` (the official ``keys``, ``shapes`` and
``aliases``; the initial weights are :func:`initial_state_dict` of it,
RNG-free, with non-zero RAF gates), ``steps`` (per step the total and each
term, official names) and ``sketch`` (:func:`~._train_step.sketch` of the
weights after the K steps, in our key layout through
:func:`mmseg_ext.models.ckpt_convert.convert_isdnet`).

Stand-ins (only inside :func:`build`; see :mod:`._isdnet_official`): the
official ``mmseg`` package imported beside MMSegmentation 1.x with stub
registries, the official ``CrossEntropyLoss`` and ``accuracy`` put in place
of the import stubs' ``build_loss`` / ``accuracy``, the Gaussian kernel on the
CPU, and no ``STDCNet813M_73.91.tar`` load (every weight is overwritten).
"""
import math
import os
import os.path as osp
import sys
from collections import OrderedDict
from importlib import import_module

import torch

from . import _train_step as ts
from ._isdnet_official import COMMIT, ENV, REPO, official_isdnet
from .common import one_thread, save_golden
from .isdnet import (_cpu_gauss_kernel, _model_cfg, _skip_isd_imagenet_load,
                     layout, official_state_dict)

SEED = 2022
SHAPE = (4, 3, 96, 96)
NUM_CLASSES = 7  # the DeepGlobe config
WEIGHT_DECAY = 5e-4  # configs/_base_/schedules/schedule_80k.py
TERMS = ('decode.loss_seg', 'refine.loss_seg', 'aux_1.loss_seg',
         'aux_2.loss_seg', 'aux_3.recon_losses', 'aux_4.fa_loss',
         'aux.loss_seg')
_HEAD_BASES = ('decode_head', 'refine_decode_head')


def chirp_fill(shape, salt: int) -> torch.Tensor:
    """RNG-free float32 weights of ``shape`` whose rows are not collinear.

    ``sin(i * 0.7548776662 + i**2 * 0.5698402910 + salt * 1.3247179572 +
    0.5)`` over the flat index ``i``, times ``sqrt(2 / fan_in)`` for a conv
    (4-D) and ``sqrt(1 / fan_in)`` for a linear (2-D) weight. The forward
    fixture's fill (:func:`~.isdnet.det_fill`, a pure ``sin`` ramp) makes
    every filter a mix of the same two sinusoids (rank-2 layers); in train
    mode the batch norms then amplify float rounding about 4x per STDC
    block (5e-8 at the shallow-net input became 2.5e-4 at its 1/16
    feature, measured); with the quadratic phase it became 2.6e-6.
    """
    n = math.prod(shape)
    i = torch.arange(n, dtype=torch.float64)
    base = torch.sin(i * 0.7548776662 + i * i * 0.5698402910 +
                     salt * 1.3247179572 + 0.5)
    gain = 2.0 if len(shape) == 4 else 1.0
    scale = math.sqrt(gain / max(1, n // shape[0]))
    return (base * scale).to(torch.float32).reshape(shape)


def initial_state_dict(case: dict) -> OrderedDict:
    """The fixture's initial official weights, RNG-free.

    :func:`~.isdnet.official_state_dict` of ``case`` (its BN weights and
    statistics, biases and non-zero RAF gates) with every conv and linear
    weight from :func:`chirp_fill` (same salt: the key's position); aliases
    share their target's tensor.
    """
    sd = official_state_dict(case)
    aliases = case.get('aliases', {})
    for salt, key in enumerate(case['keys']):
        if key not in aliases and sd[key].dim() in (2, 4):
            sd[key] = chirp_fill(tuple(sd[key].shape), salt)
    for alias, target in aliases.items():
        sd[alias] = sd[target]
    return sd


def _official_losses(root: str) -> None:
    """Give the official heads (built after this call) their own
    ``CrossEntropyLoss`` and ``accuracy`` instead of the import stubs'."""
    losses = sys.modules['mmseg.models.losses']
    losses.__path__ = [osp.join(root, 'mmseg', 'models', 'losses')]
    ce = import_module('mmseg.models.losses.cross_entropy_loss')
    accuracy = import_module('mmseg.models.losses.accuracy').accuracy

    def build_loss(cfg):
        cfg = dict(cfg)
        kind = cfg.pop('type')
        if kind != 'CrossEntropyLoss':
            raise NotImplementedError(f'{kind} is not used by the fixture')
        return ce.CrossEntropyLoss(**cfg)

    for name in _HEAD_BASES:
        module = import_module(f'mmseg.models.decode_heads.{name}')
        module.build_loss, module.accuracy = build_loss, accuracy


def _loss_fn(net, batch):
    """The official ``train_step`` on one fixture batch."""
    img = ts.normalize(batch['img'])
    n, _, h, w = img.shape
    meta = dict(img_shape=(h, w, 3), ori_shape=(h, w, 3), pad_shape=(h, w, 3))
    data = dict(
        img=img,
        img_metas=[dict(meta) for _ in range(n)],
        gt_semantic_seg=batch['label'][:, None].long())
    outputs = net.train_step(data, None)
    log_vars = outputs['log_vars']
    return outputs['loss'], {
        k: torch.tensor(log_vars[k], dtype=torch.float64)
        for k in TERMS
    }


def build(out_path: str, official_root: str = None, seed: int = SEED) -> None:
    """Run the official training steps and save the fixture to ``out_path``.

    Args:
        out_path (str): Destination file, written atomically.
        official_root (str, optional): Root of a cedricgsh/ISDNet checkout
            (commit 7341335). Default: the ``ISDNET_ROOT`` variable.
        seed (int): Seed of the batches.

    Raises:
        ImportError: If no official checkout is given or it lacks the
            official files.
    """
    from mmengine.model import revert_sync_batchnorm

    from mmseg_ext.models.ckpt_convert import convert_isdnet
    root = official_root or os.environ.get(ENV)
    with official_isdnet(root) as off, one_thread():
        _cpu_gauss_kernel(off)
        _skip_isd_imagenet_load(off)
        _official_losses(root)
        cfg = _model_cfg(root)
        net = revert_sync_batchnorm(off.registry.build(cfg))
        case = layout(net.state_dict(keep_vars=True))
        init = initial_state_dict(case)
        net.load_state_dict(init, strict=True)
        init = {k: v.detach().clone() for k, v in init.items()}
        gen = torch.Generator().manual_seed(int(seed))
        batches = ts.make_batches(gen, ts.K_STEPS, SHAPE, NUM_CLASSES)
        torch.manual_seed(0)
        steps = ts.official_steps(
            net, batches, _loss_fn, weight_decay=WEIGHT_DECAY)
        after = {k: v.detach().clone() for k, v in net.state_dict().items()}
    golden = OrderedDict(
        meta=dict(
            official_repo=REPO,
            official_commit=COMMIT,
            generator='tools.fidelity.golden.isdnet_train.build('
            f'seed={seed}); torch {torch.__version__}, CPU, float32, one '
            'thread, train mode, dropout off',
            sgd=dict(
                lr=ts.LR, momentum=ts.MOMENTUM, weight_decay=WEIGHT_DECAY)),
        batches=batches,
        layout=case,
        steps=steps,
        sketch=ts.sketch(convert_isdnet(init), convert_isdnet(after)))
    save_golden(golden, out_path)
