"""The ISDNet converter (``mmseg_ext.models.ckpt_convert.isdnet``, CLI
``tools/model_converters/isdnet2mmseg.py``) on checkpoints the tests write.

The official key layout (names and shapes of a whole official
``EncoderDecoderRefine`` R-18, 7 classes) comes from the golden fixture;
values are irrelevant here (numerical parity: test_isdnet_parity.py).
"""
import os.path as osp
import subprocess
import sys

import pytest
import torch
from conftest import REPO

from mmseg_ext.models.ckpt_convert import ConversionError
from mmseg_ext.models.ckpt_convert import isdnet as conv

CONVERTER = osp.join(REPO, 'tools', 'model_converters', 'isdnet2mmseg.py')
GOLDEN = osp.join(REPO, 'tests', 'data', 'isdnet_golden.pth')
CFG = osp.join(REPO, 'configs', 'isdnet',
               'isdnet_r18-d8_4xb2-80k_deepglobe-1224x1224.py')


@pytest.fixture(scope='module')
def official():
    """Official-layout state dict: ordered keys, aliases sharing tensors."""
    full = torch.load(GOLDEN, weights_only=True)['full']
    sd = {}
    for i, key in enumerate(full['keys']):
        if key in full['aliases']:
            sd[key] = sd[full['aliases'][key]]
        else:
            shape = tuple(full['shapes'][key])
            # one stored element per tensor (stride-0 view): cheap to save
            sd[key] = torch.tensor(
                float(i)).expand(shape) if shape else torch.tensor(
                    0, dtype=torch.long)
    return sd


def test_key_mapping(official):
    converted, unknown, aliases = conv.convert_isdnet_with_report(official)
    assert unknown == [] and len(aliases) == 120
    expect = {
        'refine_head.stdc_net.features.0.conv.weight':
        'refine_head.shallow_net.stages.0.conv.weight',
        'refine_head.stdc_net.features.3.conv_list.3.bn.running_var':
        'refine_head.shallow_net.stages.2.1.layers.3.bn.running_var',
        'refine_head.stdc_net.features.4.avd_layer.0.weight':
        'refine_head.shallow_net.stages.3.0.downsample.conv.weight',
        'refine_head.stdc_net.features.4.avd_layer.1.bias':
        'refine_head.shallow_net.stages.3.0.downsample.bn.bias',
        'refine_head.conv_seg_aux_16.conv_out.weight':
        'refine_head.aux_head_8.conv_out.weight',
        'refine_head.conv_seg_aux_8.conv_bn_relu.bn.weight':
        'refine_head.aux_head_16.conv_bn_relu.bn.weight',
        'refine_head.fuse16.g1': 'refine_head.fuse16.spatial_gate',
        'refine_head.fuse8.g2': 'refine_head.fuse8.context_gate',
        'refine_head.fuse8.context_head.bn.running_mean':
        'refine_head.fuse8.context_conv.bn.running_mean',
        'refine_head.fuse16.spatial_att.conv_1x1.conv.weight':
        'refine_head.fuse16.spatial_att.conv_1x1.conv.weight',
        'refine_head.sr_decoder.conv3.conv.weight':
        'refine_head.sr_decoder.convs.2.conv.weight',
        'refine_head.sr_decoder.conv_sr.conv_out.bias':
        'refine_head.sr_decoder.conv_sr.conv_out.bias',
        'decode_head.image_pool.1.conv.weight':
        'decode_head.image_pool.1.conv.weight',
        'backbone.layer4.1.bn2.weight': 'backbone.layer4.1.bn2.weight',
        'auxiliary_head.convs.0.conv.weight':
        'auxiliary_head.convs.0.conv.weight',
    }
    for old, new in expect.items():
        assert torch.equal(converted[new], official[old]), (old, new)
    assert not any('stdc_net' in k or '.g1' in k for k in converted)


def test_only_alias_saved_is_used(official):
    sd = {
        k: v
        for k, v in official.items()
        if not k.startswith('refine_head.stdc_net.features.2.')
    }
    converted, unknown, aliases = conv.convert_isdnet_with_report(sd)
    assert unknown == []
    key = 'refine_head.shallow_net.stages.2.0.layers.0.conv.weight'
    assert torch.equal(
        converted[key],
        official['refine_head.stdc_net.x8.0.2.conv_list.0.conv.weight'])


def test_alias_disagreeing_with_features_is_an_error(official):
    sd = dict(official)
    sd['refine_head.stdc_net.x4.0.1.bn.bias'] = torch.ones(64)
    with pytest.raises(
            ConversionError,
            match=r'x4\.0\.1\.bn\.bias should alias .*features\.1'):
        conv.convert_isdnet(sd)


def test_cli_roundtrip_with_config(official, tmp_path, capsys):
    src = tmp_path / 'official.pth'
    torch.save(
        {
            'state_dict': {
                'module.' + k: v
                for k, v in official.items()
            },
            'meta': {
                'iter': 80000
            }
        }, src)
    dst = tmp_path / 'isdnet_mmseg.pth'
    assert conv.main([str(src), str(dst), '--config', CFG]) == 0
    out = capsys.readouterr().out
    assert 'dropped 120 stdc_net.x* alias keys' in out
    assert 'keys match the model' in out
    saved = torch.load(dst, weights_only=True)
    assert saved['state_dict'].keys() == conv.convert_isdnet(official).keys()
    assert saved['meta']['config'] == CFG
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'isdnet_mmseg.pth', 'official.pth'
    ]  # no temp file left


def test_cli_unknown_key_fails_without_writing(official, tmp_path, capsys):
    sd = dict(official)
    sd['refine_head.reduce.conv1.weight'] = torch.zeros(128, 512, 1, 1)
    src = tmp_path / 'with_reducer.pth'
    torch.save(sd, src)
    dst = tmp_path / 'out.pth'
    assert conv.main([str(src), str(dst), '--config', CFG]) == 1
    err = capsys.readouterr().err
    assert 'refine_head.reduce.conv1.weight' in err and 'UNKNOWN' in err
    assert not dst.exists()
    assert conv.main([str(src), str(dst), '--keep-unknown']) == 0
    assert 'refine_head.reduce.conv1.weight' in torch.load(
        dst, weights_only=True)['state_dict']


def test_stdc_imagenet_mode(tmp_path, capsys):
    gen = torch.Generator().manual_seed(0)
    stem = torch.randn(32, 3, 3, 3, generator=gen)
    sd = {
        'features.0.conv.weight': stem,
        'features.5.conv_list.3.bn.bias': torch.randn(64, generator=gen),
        'features.6.conv_list.0.conv.weight': torch.zeros(512, 512, 1, 1),
        'conv_last.conv.weight': torch.zeros(1024, 1024, 1, 1),
        'fc.weight': torch.zeros(1024, 1024)
    }
    src = tmp_path / 'STDCNet813M_73.91.tar'
    torch.save({'state_dict': sd}, src)
    dst = tmp_path / 'stdc1_6ch.pth'
    assert conv.main([str(src), str(dst), '--stdc-imagenet']) == 0
    out = torch.load(dst, weights_only=True)
    assert list(out['state_dict']) == [
        'stages.0.conv.weight', 'stages.3.1.layers.3.bn.bias'
    ]
    assert torch.equal(out['state_dict']['stages.0.conv.weight'],
                       torch.cat([stem, stem], dim=1))
    assert 'duplicated to 6' in out['meta']['source_layout']
    # a stem that cannot be tiled, and a file with no STDC keys
    bad = tmp_path / 'bad.pth'
    torch.save({'features.0.conv.weight': torch.zeros(32, 4, 3, 3)}, bad)
    assert conv.main([str(bad),
                      str(tmp_path / 'x.pth'), '--stdc-imagenet']) == 1
    assert 'cannot tile' in capsys.readouterr().err
    torch.save({'fc.weight': torch.zeros(2, 2)}, bad)
    assert conv.main([str(bad),
                      str(tmp_path / 'x.pth'), '--stdc-imagenet']) == 1
    assert 'no STDC1 stem/stage keys' in capsys.readouterr().err
    assert not (tmp_path / 'x.pth').exists()
    with pytest.raises(SystemExit):
        conv.parse_args(
            [str(src), str(dst), '--stdc-imagenet', '--config', CFG])


def test_cli_bad_sources(tmp_path, capsys):
    lst = tmp_path / 'list.pth'
    torch.save([1, 2, 3], lst)
    assert conv.main([str(lst), str(tmp_path / 'o.pth')]) == 1
    err = capsys.readouterr().err
    assert str(lst) in err and 'not a state dict' in err
    missing = str(tmp_path / 'nope.pth')
    proc = subprocess.run(
        [sys.executable, CONVERTER, missing,
         str(tmp_path / 'o.pth')],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120)
    assert proc.returncode == 1
    assert f'{missing}: no such file' in proc.stderr
    assert not (tmp_path / 'o.pth').exists()
