"""Numerical parity of our PFNet modules with official lxtGH/PFSegNets code.

``tests/data/pfnet_golden.pth`` is made by the official code (commit
e613a59, CPU float32, one thread, eval mode, random weights and random BN
statistics) through :mod:`tools.fidelity.golden.pfnet`; regenerate it
with::

    PYTHONPATH=/path/to/PFSegNets python -m tools.misc.make_golden pfnet \\
        --out tests/data/pfnet_golden.pth

It holds, in the official key layout:

* ``pfm``: one ``PointFlowModuleWithMaxAvgpool(32, dim=8, maxpool_size=14,
  avgpool_size=9, edge_points=128)`` run on a 2x pair (coarse 12x12, fine
  24x24) and a non-2x pair (7x9 / 13x17, stride ratio 13/7);
* ``head``: ``UperNetAlignHeadMaxAvgpool`` (fpn_inplanes 16/32/48/64,
  fpn_dim 32, 5 classes, the training scripts' 14/9/128) on a 4-level pyramid
  (48x48 ... 6x6), giving logits and the three edge maps;
* ``edge_loss``: ``JointEdgeSegLightLossPfnet(edge_weight=25)``'s three edge
  terms on random logits and a boundary target with ignored (255) pixels;
* ``official_keys``: key -> shape of the official R-50 and R-101 networks.

The tests run on one thread as the fixture was made (the same float sums:
max abs diff 0.0). Our side loads the weights through
``tools/model_converters/pfnet2mmseg.py``.
"""
import os.path as osp

import pytest
import torch
from conftest import REPO

from mmseg_ext.models import ckpt_convert as conv
from mmseg_ext.models.decode_heads import PFHead
from mmseg_ext.models.losses import ClassBalancedBCELoss
from mmseg_ext.models.necks import PFNeck, PointFlowModule

GOLDEN = osp.join(REPO, 'tests', 'data', 'pfnet_golden.pth')
CFG_DIR = osp.join(REPO, 'configs', 'pfnet')
TOL = 1e-5
# the order of float sums the fixture was computed with (see docstring)
pytestmark = pytest.mark.usefixtures('one_thread')


@pytest.fixture(scope='module')
def golden():
    return torch.load(GOLDEN, map_location='cpu', weights_only=True)


def _convert(state_dict, prefix):
    converted, unknown, ignored = conv.convert_pfnet_with_report({
        f'{prefix}{k}':
        v
        for k, v in state_dict.items()
    })
    assert unknown == [] and ignored == []
    return converted


def _strip(state_dict, prefix):
    return {
        k[len(prefix):]: v
        for k, v in state_dict.items() if k.startswith(prefix)
    }


@pytest.mark.parametrize('case', ['pfm_2x', 'pfm_odd'])
def test_point_flow_module_matches_official(golden, case):
    pfm = PointFlowModule(
        32, match_dim=8, maxpool_size=14, avgpool_size=9,
        edge_points=128).eval()
    converted = _convert(golden['pfm.state_dict'], 'head.fpn_out_align.0.')
    pfm.load_state_dict(_strip(converted, 'neck.point_flows.0.'), strict=True)
    with torch.no_grad():
        out, edge = pfm(golden[f'{case}.coarse'], golden[f'{case}.fine'])
    assert out.shape == golden[f'{case}.out'].shape
    assert edge.shape == golden[f'{case}.edge'].shape
    assert (out - golden[f'{case}.out']).abs().max() <= TOL
    assert (edge - golden[f'{case}.edge']).abs().max() <= TOL
    # only the sampled points differ from the fine input
    changed = (out != golden[f'{case}.fine']).any(1)
    assert 0 < changed.sum() <= out.shape[0] * (128 + 14 * 14)


def test_neck_and_head_match_official_head(golden):
    neck = PFNeck([16, 32, 48, 64],
                  32,
                  match_dim=8,
                  maxpool_size=14,
                  avgpool_size=9,
                  edge_points=128).eval()
    head = PFHead(
        [32] * 4,
        32,
        num_classes=5,
        norm_cfg=dict(type='BN'),
        loss_decode=dict(type='CrossEntropyLoss')).eval()
    converted = _convert(golden['head.state_dict'], 'head.')
    neck.load_state_dict(_strip(converted, 'neck.'), strict=True)
    head.load_state_dict(_strip(converted, 'decode_head.'), strict=True)
    with torch.no_grad():
        feats = neck(golden['head.inputs'])
        logits = head(feats)
    assert len(feats) == 7
    assert (logits - golden['head.logits']).abs().max() <= TOL
    # official edge_preds are top-down (coarsest pair first); ours fine first
    for ours, theirs in zip(feats[4:], reversed(golden['head.edges'])):
        assert ours.shape == theirs.shape
        assert (ours - theirs).abs().max() <= TOL


def test_edge_loss_matches_official(golden):
    loss = ClassBalancedBCELoss(loss_weight=25.0)
    target = golden['edge_loss.target'].long()
    assert (target == 255).any()  # the ignored pixels take part
    ours = torch.stack([loss(x, target) for x in golden['edge_loss.logits']])
    assert torch.allclose(
        ours, golden['edge_loss.values'], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('arch,config', [
    ('r50', 'pfnet_r50-d32_8xb2-34k_isaid-896x896.py'),
    ('r101', 'pfnet_r101-d32_8xb2-34k_isaid-896x896.py'),
])
def test_converter_covers_official_networks(golden, arch, config):
    """Every official key maps onto the config's model with the same shape."""
    shapes = golden['official_keys'][arch]
    fake = {k: torch.zeros(s) for k, s in shapes.items()}
    converted, unknown, ignored = conv.convert_pfnet_with_report(fake)
    assert unknown == [] and ignored == []
    missing, unexpected, mismatched = conv.check_against_config(
        converted, osp.join(CFG_DIR, config))
    assert (missing, unexpected, mismatched) == ([], [], [])
