"""``tests/data/golden/pfnet_train_golden.pth``: K official PFNet SGD steps.

Official code: https://github.com/lxtGH/PFSegNets, commit ``e613a59``
(``network/pointflow_resnet_with_max_avg_pool.py:DeepR50_PF_maxavg_deeply``,
``loss.py:JointEdgeSegLightLossPfnet`` / ``OhemCrossEntropy2dTensor``,
``train.py``, ``optimizer.py``). Regenerate with::

    PYTHONPATH=/path/to/PFSegNets python -m tools.misc.make_golden \\
        pfnet_train --out tests/data/golden/pfnet_train_golden.pth

The whole R-50 network of ``scripts/pointflow/train_iSAID_pfnet_r50.sh``
(16 classes, ``--match_dim 64 --maxpool_size 14 --avgpool_size 9
--edge_points 128``) in train mode with BN, trained
:data:`~._train_step.K_STEPS` iterations of the official loop with that
script's SGD (lr 0.007, momentum 0.9, weight decay 1e-4) and criterion
(``--joint_edge_loss_pfnet --edge_weight 25 --ohem``:
``JointEdgeSegLightLossPfnet``, OHEM CE (0.7, 10000) on the logits plus 25 x
the class-balanced BCE of each of the three edge maps; ``train.py`` adds
the four terms) on three (2, 3, 64, 128) batches with boundary targets
(:func:`~._train_step.add_edges`).

Stored: ``batches``, ``official_shapes`` (initial weights
:func:`~._train_step.det_state_dict`), ``steps`` (total, ``seg_loss``,
``edge_loss_layer3`` / ``2`` / ``1``) and ``sketch`` (our key layout, through
:func:`convert`).

Stand-ins (only inside :func:`build`): ``apex`` if it is not installed;
plain BN and no ImageNet files; ``Tensor.cuda()`` / ``Module.cuda()`` as the
identity (the loss moves its weights to the GPU unconditionally).
"""
from collections import OrderedDict

import torch

from . import _train_step as ts
from .common import (OfficialCode, apex_stub, bn_and_no_pretrained,
                     cuda_calls_on_cpu, one_thread, save_golden)

REPO, COMMIT = 'lxtGH/PFSegNets', 'e613a59'
SEED = 2021
SHAPE = (2, 3, 64, 128)
NUM_CLASSES = 16
LR = 0.007  # scripts/pointflow/train_iSAID_pfnet_r50.sh
TERMS = ('seg_loss', 'edge_loss_layer3', 'edge_loss_layer2',
         'edge_loss_layer1')


def convert(state_dict: dict) -> dict:
    """Official PFNet weights in our layout (our converter, no report)."""
    from mmseg_ext.models.ckpt_convert import convert_pfnet_with_report
    return convert_pfnet_with_report(state_dict).converted


def _loss_fn(net, batch):
    losses = net(
        ts.normalize(batch['img']),
        gts=(batch['label'].long(), batch['edge'].float()))
    total = 0.0
    for value in losses.values():  # train.py: main_loss = main_loss + v
        total = total + value
    return total, {k: losses[k] for k in TERMS}


def build(out_path: str, seed: int = SEED) -> None:
    """Run the official training steps and save the fixture to ``out_path``.

    Raises:
        ImportError: If the official code is not importable (the message
            names the repository and the ``PYTHONPATH`` fix).
    """
    with OfficialCode(REPO, COMMIT, 'pfnet_train',
                      {'apex': apex_stub}) as code, one_thread(), \
            cuda_calls_on_cpu():
        pfnet = code.import_module(
            'network.pointflow_resnet_with_max_avg_pool')
        loss = code.import_module('loss')
        with bn_and_no_pretrained(code, (50, )):
            gen = torch.Generator().manual_seed(int(seed))
            batches = ts.make_batches(gen, ts.K_STEPS, SHAPE, NUM_CLASSES)
            ts.add_edges(batches)
            criterion = loss.JointEdgeSegLightLossPfnet(
                NUM_CLASSES, ignore_index=255, edge_weight=25.0, ohem=True)
            torch.manual_seed(0)
            net = pfnet.DeepR50_PF_maxavg_deeply(
                NUM_CLASSES,
                criterion,
                reduce_dim=64,
                max_pool_size=14,
                avgpool_size=9,
                edge_points=128)
            shapes = OrderedDict(
                (k, list(v.shape)) for k, v in net.state_dict().items())
            init = ts.det_state_dict(shapes)
            net.load_state_dict(init, strict=True)
            steps = ts.official_steps(net, batches, _loss_fn, LR)
            after = {
                k: v.detach().clone()
                for k, v in net.state_dict().items()
            }
    golden = dict(
        meta=dict(
            official_repo=REPO,
            official_commit=COMMIT,
            generator='tools.fidelity.golden.pfnet_train.build('
            f'seed={seed}); torch {torch.__version__}, CPU, float32, one '
            'thread, train mode, dropout off',
            sgd=dict(
                lr=LR, momentum=ts.MOMENTUM, weight_decay=ts.WEIGHT_DECAY)),
        batches=batches,
        official_shapes=shapes,
        zero=[],
        steps=steps,
        sketch=ts.sketch(convert(init), convert(after)))
    save_golden(golden, out_path)
