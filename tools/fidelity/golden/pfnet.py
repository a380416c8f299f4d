"""``tests/data/pfnet_golden.pth`` from the official PFNet code.

Official code: https://github.com/lxtGH/PFSegNets, commit ``e613a59``
(``network/nn/point_flow.py:PointFlowModuleWithMaxAvgpool``,
``network/pointflow_resnet_with_max_avg_pool.py:UperNetAlignHeadMaxAvgpool``
/ ``DeepR50_PF_maxavg_deeply`` / ``DeepR101_PF_maxavg_deeply``,
``loss.py:JointEdgeSegLightLossPfnet``); paper: Li et al., "PointFlow:
Flowing Semantics Through Points for Aerial Image Segmentation", CVPR 2021,
Sec. 3.2-3.4. Regenerate with::

    PYTHONPATH=/path/to/PFSegNets python -m tools.misc.make_golden pfnet \\
        --out tests/data/pfnet_golden.pth

The fixture (CPU, float32, eval mode, random weights and random BN
statistics, official key layout) holds

* ``pfm.*``: one ``PointFlowModuleWithMaxAvgpool(32, dim=8,
  maxpool_size=14, avgpool_size=9, edge_points=128)`` run on a 2x pair
  (``pfm_2x``: coarse 12x12, fine 24x24) and a non-2x pair (``pfm_odd``:
  7x9 / 13x17, stride ratio 13/7): ``.coarse``, ``.fine``, ``.out``,
  ``.edge``;
* ``head.*``: ``UperNetAlignHeadMaxAvgpool`` (fpn_inplanes 16/32/48/64,
  fpn_dim 32, reduce_dim 8, 5 classes, the training scripts' 14/9/128) on a
  4-level pyramid (48x48 ... 6x6): ``.state_dict``, ``.inputs``,
  ``.logits`` and ``.edges`` (the official order: coarsest pair first);
* ``edge_loss.*``: the three edge terms of
  ``JointEdgeSegLightLossPfnet(5, edge_weight=25)`` (``edge_loss_layer3``,
  ``2``, ``1``) on random logits and a boundary target (float 0/1) with
  ignored (255) pixels;
* ``official_keys``: key -> shape of the official R-50 and R-101 networks
  (16 classes, the training scripts' ``--match_dim 64 --maxpool_size 14
  --avgpool_size 9 --edge_points 128``).

Stand-ins (only inside :func:`build`): ``apex`` (:func:`~.common.apex_stub`)
if it is not installed; plain BN and no ImageNet files
(:func:`~.common.bn_and_no_pretrained`); ``Tensor.cuda()`` /
``Module.cuda()`` as the identity (:func:`~.common.cuda_calls_on_cpu`: the
loss moves its inputs to the GPU unconditionally; the fixture is computed on
CPU).
"""
import torch
import torch.nn as nn

from .common import (OfficialCode, apex_stub, bn_and_no_pretrained,
                     cuda_calls_on_cpu, key_shapes, one_thread, randn,
                     randomize_, save_golden)

REPO, COMMIT = 'lxtGH/PFSegNets', 'e613a59'
SEED = 20210619  # CVPR 2021
PF_ARGS = dict(max_pool_size=14, avgpool_size=9, edge_points=128)


def _point_flow(point_flow, gen):
    pfm = point_flow.PointFlowModuleWithMaxAvgpool(
        32, dim=8, maxpool_size=14, avgpool_size=9, edge_points=128)
    pfm = randomize_(pfm, gen).eval()
    golden = {'pfm.state_dict': pfm.state_dict()}
    for case, coarse_hw, fine_hw in (('pfm_2x', (12, 12), (24, 24)),
                                     ('pfm_odd', (7, 9), (13, 17))):
        coarse, fine = randn(gen, 2, 32,
                             *coarse_hw), randn(gen, 2, 32, *fine_hw)
        out, edge = pfm([coarse, fine])
        golden.update({
            f'{case}.coarse': coarse,
            f'{case}.fine': fine,
            f'{case}.out': out,
            f'{case}.edge': edge
        })
    return golden


def _head(pfnet, gen):
    head = pfnet.UperNetAlignHeadMaxAvgpool(
        64,
        num_class=5,
        norm_layer=nn.BatchNorm2d,
        fpn_inplanes=[16, 32, 48, 64],
        fpn_dim=32,
        reduce_dim=8,
        **PF_ARGS)
    head = randomize_(head, gen).eval()
    inputs = [
        randn(gen, 2, c, s, s)
        for c, s in zip((16, 32, 48, 64), (48, 24, 12, 6))
    ]
    logits, edges = head(inputs)
    return {
        'head.state_dict': head.state_dict(),
        'head.inputs': inputs,
        'head.logits': logits,
        'head.edges': edges
    }


def _edge_loss(loss, gen):
    criterion = loss.JointEdgeSegLightLossPfnet(5, edge_weight=25.0)
    logits = [randn(gen, 2, 1, 40, 40) for _ in range(3)]
    u = torch.rand(2, 40, 40, generator=gen)
    target = (u < 0.2).float()  # 20 % boundary pixels
    target[u > 0.95] = 255.0  # 5 % ignored
    seg = randn(gen, 2, 5, 40, 40)
    mask = torch.randint(0, 5, (2, 40, 40), generator=gen)
    losses = criterion((seg, logits), (mask, target))
    values = torch.stack([losses[f'edge_loss_layer{3 - i}'] for i in range(3)])
    return {
        'edge_loss.logits': logits,
        'edge_loss.target': target,
        'edge_loss.values': values.float()
    }


@torch.no_grad()
def build(out_path: str, seed: int = SEED) -> None:
    """Run the official code and save the fixture to ``out_path``.

    Args:
        out_path (str): Where to write (atomically).
        seed (int | str): Seed of the ``torch.Generator`` all random
            weights, inputs and targets are drawn from (a string from
            ``make_golden.py --opt seed=N`` is converted).

    Raises:
        ImportError: If the official code is not importable (the message
            names the repository and the ``PYTHONPATH`` fix).
    """
    with OfficialCode(REPO, COMMIT, 'pfnet', {'apex': apex_stub}) as code, \
            one_thread(), cuda_calls_on_cpu():
        pfnet = code.import_module(
            'network.pointflow_resnet_with_max_avg_pool')
        point_flow = code.import_module('network.nn.point_flow')
        loss = code.import_module('loss')
        with bn_and_no_pretrained(code, (50, 101)):
            gen = torch.Generator().manual_seed(int(seed))
            golden = _point_flow(point_flow, gen)
            golden.update(_head(pfnet, gen))
            golden.update(_edge_loss(loss, gen))
            golden['official_keys'] = {
                arch:
                key_shapes(
                    getattr(pfnet, f'DeepR{depth}_PF_maxavg_deeply')(
                        16, None, reduce_dim=64, **PF_ARGS), tuple)
                for arch, depth in (('r50', 50), ('r101', 101))
            }
    save_golden(golden, out_path)
