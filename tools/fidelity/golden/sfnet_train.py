"""``tests/data/golden/sfnet_train_golden.pth``: K official SFNet SGD steps.

Official code: https://github.com/lxtGH/SFSegNets, commit ``ba475ba``
(``network/sfnet_resnet.py:AlignNetResNet`` / ``DeepR18_SF_deeply``,
``loss.py:OhemCrossEntropy2dTensor`` / ``CriterionSFNet``, ``train.py``,
``optimizer.py``). Regenerate with::

    PYTHONPATH=/path/to/SFSegNets python -m tools.misc.make_golden \\
        sfnet_train --out tests/data/golden/sfnet_train_golden.pth

Two cases, both the whole R-18 network (19 classes) in train mode with BN
(``nn.BatchNorm2d``, what ``config.py`` sets without ``--syncbn``), trained
:data:`~._train_step.K_STEPS` iterations on the same three (2, 3, 64, 128)
batches by the official loop (:func:`~._train_step.official_steps`):

* ``plain``: ``DeepR18_SF_deeply`` with the ``--ohem`` criterion of
  ``scripts/cityscacpes/train_cityscapes_sfnet_res18.sh``,
  ``OhemCrossEntropy2dTensor(255)`` (thresh 0.7, min_kept 10000: 16384
  pixels per batch, so OHEM thresholds);
* ``dsn``: ``AlignNetResNet(..., fpn_dsn=True)`` with the ``--fpn_dsn_loss``
  criterion of ``train_cityscapes_sfnet_res18_dsn.sh``,
  ``CriterionSFNet()`` (one OHEM (0.7, min_kept 100000) on the main output
  and on each of the three DSN maps, weight 1.0 each; with 100000 > the
  valid pixels every valid pixel is kept, as the official code does).

Each case stores ``official_shapes`` (the initial weights are
:func:`~._train_step.det_state_dict` of them, with the DSN conv biases
zero: they reach the BN only, whose batch statistics cancel them, and our
converter folds them into the running mean), ``steps`` (per step the total
loss and each official term: ``main``, ``dsn2`` / ``dsn1`` / ``dsn0`` in
the official order, coarsest first) and ``sketch``
(:func:`~._train_step.sketch` of the weights after the K steps, in our key
layout through :func:`mmseg_ext.models.ckpt_convert.convert_sfnet`).

Stand-ins (only inside :func:`build`): ``apex`` (:func:`~.common.apex_stub`)
if it is not installed; plain BN and no ImageNet files
(:func:`~.common.bn_and_no_pretrained`).
"""
from collections import OrderedDict

import torch

from . import _train_step as ts
from .common import (OfficialCode, apex_stub, bn_and_no_pretrained, one_thread,
                     save_golden)

REPO, COMMIT = 'lxtGH/SFSegNets', 'ba475ba'
SEED = 2020
SHAPE = (4, 3, 64, 128)
NUM_CLASSES = 19


class _Recorder(torch.nn.Module):
    """Wraps an official loss; keeps a copy of each value it returns."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.values = inner, []

    def forward(self, *args):
        value = self.inner(*args)
        # a copy: CriterionSFNet adds the aux terms in place
        self.values.append(value.detach().clone())
        return value


def _loss_fn(names):

    def loss_fn(net, batch):
        rec = net.criterion._criterion1 if names[1:] else net.criterion
        rec.values = []
        total = net(ts.normalize(batch['img']), gts=batch['label'].long())
        return total, dict(zip(names, rec.values))

    return loss_fn


def _case(sfnet, loss, convert, dsn, batches):
    if dsn:
        criterion = loss.CriterionSFNet(ignore_index=255)
        criterion._criterion1 = _Recorder(criterion._criterion1)
        net = sfnet.AlignNetResNet(
            NUM_CLASSES,
            trunk='resnet-18-deep',
            criterion=criterion,
            variant='D',
            skip='m1',
            fpn_dsn=True)
        names = ('main', 'dsn2', 'dsn1', 'dsn0')
    else:
        criterion = _Recorder(loss.OhemCrossEntropy2dTensor(ignore_index=255))
        net = sfnet.DeepR18_SF_deeply(NUM_CLASSES, criterion)
        names = ('main', )
    shapes = OrderedDict(
        (k, list(v.shape)) for k, v in net.state_dict().items())
    zero = [
        k for k in shapes
        if k.startswith('head.dsn.') and k.endswith('.0.bias')
    ]
    init = ts.det_state_dict(shapes, zero)
    net.load_state_dict(init, strict=True)
    steps = ts.official_steps(net, batches, _loss_fn(names))
    after = {k: v.detach().clone() for k, v in net.state_dict().items()}
    return dict(
        official_shapes=shapes,
        zero=zero,
        steps=steps,
        sketch=ts.sketch(convert(init), convert(after)))


def build(out_path: str, seed: int = SEED) -> None:
    """Run the official training steps and save the fixture to ``out_path``.

    Raises:
        ImportError: If the official code is not importable (the message
            names the repository and the ``PYTHONPATH`` fix).
    """
    from mmseg_ext.models.ckpt_convert import convert_sfnet
    with OfficialCode(REPO, COMMIT, 'sfnet_train',
                      {'apex': apex_stub}) as code, one_thread():
        sfnet = code.import_module('network.sfnet_resnet')
        loss = code.import_module('loss')
        with bn_and_no_pretrained(code, (18, )):
            gen = torch.Generator().manual_seed(int(seed))
            batches = ts.make_batches(gen, ts.K_STEPS, SHAPE, NUM_CLASSES)
            golden = dict(
                meta=dict(
                    official_repo=REPO,
                    official_commit=COMMIT,
                    generator='tools.fidelity.golden.sfnet_train.build('
                    f'seed={seed}); torch {torch.__version__}, CPU, '
                    'float32, one thread, train mode, dropout off',
                    sgd=dict(
                        lr=ts.LR,
                        momentum=ts.MOMENTUM,
                        weight_decay=ts.WEIGHT_DECAY)),
                batches=batches)
            for case, dsn in (('plain', False), ('dsn', True)):
                torch.manual_seed(0)
                golden[case] = _case(sfnet, loss, convert_sfnet, dsn, batches)
    save_golden(golden, out_path)
