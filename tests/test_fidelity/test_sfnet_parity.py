"""Numerical parity of our SFNet modules with official lxtGH/SFSegNets code.

``tests/data/sfnet_golden.pth`` is made by the official code (commit
ba475ba, CPU float32, one thread, eval mode) through
:mod:`tools.fidelity.golden.sfnet`; regenerate it with::

    PYTHONPATH=/path/to/SFSegNets python -m tools.misc.make_golden sfnet \\
        --out tests/data/sfnet_golden.pth

It holds inputs, official state dicts (official key layout) and outputs of

* ``fam``: one ``AlignedModule(16, 8)`` on a non-2x size pair (low 13x17,
  high 7x9) and a 2x pair (14x18 / 7x9);
* ``head``: a small ``UperNetAlignHead`` (fpn_inplanes 16/24/32/48, fpn_dim
  16, 5 classes, DSN) with random BN statistics on the four levels of a
  100x130 image at output stride 32;
* ``full_r18_dsn``: the whole R-18 DSN ``AlignNetResNet`` whose weights are
  not stored but filled by ``det_fill`` (RNG-free) in key order
  (:func:`~tools.fidelity.golden.sfnet.official_r18_dsn_state_dict`), run
  on a 65x97 image;
* ``official_keys``: key -> shape of the official R-18 (DSN), R-50 and R-101
  models.

The tests run on one thread as the fixture was made (the same float sums:
max abs diff 0.0 but for the DSN maps, whose conv bias the converter folds
into the BN). Our side loads the weights through
``tools/model_converters/sfnet2mmseg.py``.
"""
import functools
import os.path as osp
import subprocess
import sys

import pytest
import torch
import torch.nn as nn
from conftest import REPO, max_abs_diff
from mmseg.models.decode_heads import FCNHead

from mmseg_ext.models import ckpt_convert as conv
from mmseg_ext.models.decode_heads.sf_head import SFHead
from mmseg_ext.models.necks.sf_neck import FAM, SFNeck
from tools.fidelity.golden.sfnet import official_r18_dsn_state_dict

GOLDEN = osp.join(REPO, 'tests', 'data', 'sfnet_golden.pth')
CONVERTER = osp.join(REPO, 'tools', 'model_converters', 'sfnet2mmseg.py')
CFG_DIR = osp.join(REPO, 'configs', 'sfnet')
R18_CFG = osp.join(CFG_DIR, 'sfnet_r18-d32_4xb2-50k_cityscapes-512x1024.py')
R18_DSN_CFG = osp.join(CFG_DIR,
                       'sfnet_r18-d32-dsn_4xb2-50k_cityscapes-512x1024.py')
R50_CFG = osp.join(CFG_DIR, 'sfnet_r50-d32_4xb2-50k_cityscapes-512x1024.py')
R101_CFG = osp.join(CFG_DIR, 'sfnet_r101-d32_4xb2-50k_cityscapes-512x1024.py')
TOL = 1e-5
# the order of float sums the fixture was computed with (see docstring)
pytestmark = pytest.mark.usefixtures('one_thread')


@pytest.fixture(scope='module')
def golden():
    return torch.load(GOLDEN, map_location='cpu', weights_only=True)


def dummy_state_dict(shapes, device='cpu'):
    """Tensors with the official key names and shapes (values irrelevant)."""
    return {
        k: (torch.zeros(s, device=device) if s else torch.tensor(
            0, dtype=torch.long, device=device))
        for k, s in shapes.items()
    }


class _Composition(nn.Module):
    """neck + decode_head + auxiliary_head, named like EncoderDecoder."""

    def __init__(self, in_channels, channels, num_classes):
        super().__init__()
        norm_cfg = dict(type='BN', requires_grad=True)
        self.neck = SFNeck(
            in_channels, channels, return_dsn=True, norm_cfg=norm_cfg)
        self.decode_head = SFHead(
            [channels] * len(in_channels),
            channels,
            num_classes=num_classes,
            norm_cfg=norm_cfg)
        self.auxiliary_head = nn.ModuleList([
            FCNHead(
                in_channels=channels,
                channels=channels,
                num_convs=1,
                kernel_size=3,
                concat_input=False,
                dropout_ratio=0.1,
                in_index=4 + i,
                num_classes=num_classes,
                norm_cfg=norm_cfg,
                align_corners=True) for i in range(3)
        ])

    def forward(self, feats):
        outs = self.neck(feats)
        return (self.decode_head(outs),
                [head(outs) for head in self.auxiliary_head])


@functools.lru_cache(maxsize=None)
def _build(cfg_path):
    """Model of ``cfg_path`` with BN instead of SyncBN (cached, build once)."""
    from mmseg_ext.apis import build_model
    return build_model(cfg_path)


# --------------------------------------------------------------- parity ----
@pytest.mark.parametrize('case', ['odd', 'x2'])
def test_fam_parity(golden, case):
    fam_gold = golden['fam']
    fam = FAM(16, 8).eval()
    fam.load_state_dict(fam_gold['state_dict'], strict=True)
    data = fam_gold['cases'][case]
    with torch.no_grad():
        out = fam(data['low'], data['high'])
    assert max_abs_diff(f'FAM[{case}]', out, data['out']) <= TOL


def test_head_parity(golden):
    gold = golden['head']
    cfg = gold['cfg']
    model = _Composition(cfg['fpn_inplanes'], cfg['fpn_dim'],
                         cfg['num_class']).eval()
    converted = conv.convert_sfnet(gold['state_dict'])
    assert all(not k.startswith('head.') for k in converted)
    model.load_state_dict(converted, strict=True)
    with torch.no_grad():
        logits, dsn = model(gold['inputs'])
    assert max_abs_diff('head logits', logits, gold['logits']) <= TOL
    for level in range(3):
        assert max_abs_diff(f'DSN level {level}', dsn[level],
                            gold['dsn'][str(level)]) <= TOL


def test_full_r18_dsn_parity(golden):
    gold = golden['full_r18_dsn']
    model = _build(R18_DSN_CFG).eval()
    converted = conv.convert_sfnet(official_r18_dsn_state_dict(golden))
    model.load_state_dict(converted, strict=True)
    with torch.no_grad():
        feats = model.backbone(gold['img'])
        for i, (ours, ref) in enumerate(zip(feats, gold['feats'])):
            assert max_abs_diff(f'R18 stage {i + 1}', ours, ref) <= TOL
        outs = model.neck(feats)
        logits = model.decode_head(outs)
        dsn = [head(outs) for head in model.auxiliary_head]
    assert max_abs_diff('R18 logits', logits, gold['logits']) <= TOL
    for level in range(3):
        assert max_abs_diff(f'R18 DSN level {level}', dsn[level],
                            gold['dsn'][str(level)]) <= TOL


# ------------------------------------------------------------ converter ----
def test_dsn_bias_folding_exact():
    gen = torch.Generator().manual_seed(1)
    c = 4
    sd = {
        'head.dsn.0.0.weight': torch.randn(c, c, 3, 3, generator=gen),
        'head.dsn.0.0.bias': torch.randn(c, generator=gen),
        'head.dsn.0.1.weight': torch.rand(c, generator=gen) + 0.5,
        'head.dsn.0.1.bias': torch.randn(c, generator=gen),
        'head.dsn.0.1.running_mean': torch.randn(c, generator=gen),
        'head.dsn.0.1.running_var': torch.rand(c, generator=gen) + 0.5,
        'head.dsn.0.1.num_batches_tracked': torch.tensor(3),
    }
    out = conv.convert_sfnet(
        {'state_dict': {
            'module.' + k: v
            for k, v in sd.items()
        }})
    assert 'auxiliary_head.0.convs.0.conv.bias' not in out
    assert torch.equal(out['auxiliary_head.0.convs.0.conv.weight'],
                       sd['head.dsn.0.0.weight'])
    torch.testing.assert_close(
        out['auxiliary_head.0.convs.0.bn.running_mean'],
        sd['head.dsn.0.1.running_mean'] - sd['head.dsn.0.0.bias'])
    # a DSN bias without its BN cannot be folded
    with pytest.raises(conv.ConversionError, match='running_mean'):
        conv.convert_sfnet({'head.dsn.1.0.bias': torch.zeros(c)})


def test_unknown_key_reported_as_unexpected(golden):
    shapes = dict(golden['official_keys']['r18_dsn'])
    sd = dummy_state_dict(shapes)
    sd['head.bogus.weight'] = torch.zeros(3)
    sd['criterion.criterion.weight'] = torch.ones(19)  # dropped, listed
    with pytest.warns(UserWarning, match='head.bogus.weight'):
        converted = conv.convert_sfnet(sd)
    _, unknown, ignored = conv.convert_sfnet_with_report(sd)
    assert unknown == ['head.bogus.weight']
    assert ignored == ['criterion.criterion.weight']
    missing, unexpected, mismatched = conv.check_against_config(
        converted, R18_DSN_CFG)
    assert unexpected == ['head.bogus.weight']
    assert missing == [] and mismatched == []


@pytest.mark.parametrize('tag,cfg',
                         [('r18', R18_CFG), ('r18_dsn', R18_DSN_CFG),
                          ('r50', R50_CFG), ('r101', R101_CFG)])
def test_full_official_layout_loads(golden, tag, cfg):
    shapes = golden['official_keys']['r18_dsn' if tag == 'r18' else tag]
    if tag == 'r18':  # the plain R-18 model has no DSN heads
        shapes = {
            k: s
            for k, s in shapes.items() if not k.startswith('head.dsn.')
        }
    converted = conv.convert_sfnet(dummy_state_dict(shapes, 'meta'))
    own = {k: tuple(v.shape) for k, v in _build(cfg).state_dict().items()}
    ours = {k: tuple(v.shape) for k, v in converted.items()}
    assert sorted(own.keys() - ours.keys()) == []  # missing
    assert sorted(ours.keys() - own.keys()) == []  # unexpected
    assert ours == own  # shapes


def _run_cli(*args):
    return subprocess.run([sys.executable, CONVERTER, *args],
                          cwd=REPO,
                          capture_output=True,
                          text=True,
                          timeout=120)


def test_cli_missing_source(tmp_path):
    src = str(tmp_path / 'does_not_exist.pth')
    dst = tmp_path / 'out.pth'
    proc = _run_cli(src, str(dst))
    assert proc.returncode != 0
    assert src in proc.stderr
    assert not dst.exists()


def test_cli_not_a_state_dict(tmp_path, capsys):
    src = tmp_path / 'list.pth'
    torch.save([1, 2, 3], src)
    assert conv.sfnet.main([str(src), str(tmp_path / 'out.pth')]) != 0
    err = capsys.readouterr().err
    assert str(src) in err and 'not a state dict' in err
    assert not (tmp_path / 'out.pth').exists()


def test_cli_roundtrip_and_unknown(tmp_path, golden, capsys):
    shapes = {
        k: s
        for k, s in golden['official_keys']['r18_dsn'].items()
        if not k.startswith('head.dsn.')
    }
    sd = {'module.' + k: v for k, v in dummy_state_dict(shapes).items()}
    src = tmp_path / 'official.pth'
    torch.save({'state_dict': sd}, src)
    dst = tmp_path / 'converted.pth'
    status = conv.sfnet.main([str(src), str(dst), '--config', R18_CFG])
    out = capsys.readouterr()
    assert status == 0, out.out + out.err
    assert 'keys match the model' in out.out
    saved = torch.load(dst, weights_only=True)
    assert set(saved) == {'state_dict', 'meta'}
    assert saved['state_dict'].keys() == conv.convert_sfnet(sd).keys()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'converted.pth', 'official.pth'
    ]  # no temp file left behind

    sd['module.head.bogus.weight'] = torch.zeros(2)
    torch.save(sd, src)
    dst2 = tmp_path / 'bad.pth'
    assert conv.sfnet.main([str(src), str(dst2), '--config', R18_CFG]) != 0
    err = capsys.readouterr().err
    assert 'head.bogus.weight' in err and 'UNEXPECTED' in err
    assert not dst2.exists()
