"""ImageNet converters: official key layouts -> our backbones, strictly.

Checkpoints are written with every key and shape of the released files
(:mod:`official_layouts`), converted by the CLIs' library entry points,
loaded strictly into the backbone the ``*_in1k-pre_*`` config builds, and
checked tensor by tensor where our backbone uses them; the configs'
``init_cfg`` then loads the converted file through ``init_weights``.
"""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmseg_ext.apis import build_model
from mmseg_ext.models.backbones.stdc_shallow_net import checkpoint_filter_fn
from mmseg_ext.models.ckpt_convert.imagenet import (convert_resnet_d,
                                                    resnet_d_main,
                                                    stdc813_main)
from .official_layouts import (random_state_dict, resnet_d_shapes,
                               stdc813_state_dict)

pytestmark = pytest.mark.usefixtures('repo_root_one_thread')

SFNET_R18 = ('configs/sfnet/'
             'sfnet_r18-d32_in1k-pre_4xb2-50k_cityscapes-512x1024.py')
PFNET_R50 = 'configs/pfnet/pfnet_r50-d32_in1k-pre_8xb2-34k_isaid-896x896.py'
ISDNET = ('configs/isdnet/'
          'isdnet_r18-d8_in1k-pre_4xb2-80k_deepglobe-1224x1224.py')


def build(config, **init):
    cfg = Config.fromfile(config)
    cfg.model.pretrained = None
    for path, ckpt in init.items():
        part = cfg.model
        for name in path.split('__'):
            part = part[name]
        part.init_cfg.checkpoint = ckpt
    return build_model(cfg)


@pytest.mark.parametrize('depth,config', [(18, SFNET_R18), (50, PFNET_R50)])
def test_resnet_d_lands_where_sfresnet_uses_it(tmp_path, capsys, depth,
                                               config):
    official = random_state_dict(resnet_d_shapes(depth), seed=depth)
    src, dst = tmp_path / 'resnet-deep.pth', tmp_path / 'pretrain.pth'
    torch.save(official, src)
    assert resnet_d_main([str(src), str(dst), '--config', config]) == 0
    out = capsys.readouterr().out
    assert 'dropped 2 ImageNet classifier keys' in out and 'fc.weight' in out
    assert 'MISSING' not in out
    converted = torch.load(dst)['state_dict']
    assert not any(k.startswith('fc.') for k in converted)
    assert len(converted) == len(official) - 2

    # the config's init_cfg loads the file through init_weights
    model = build(config, backbone=str(dst))
    model.init_weights()
    backbone = model.backbone
    for k, v in backbone.state_dict().items():
        assert torch.equal(v, converted[k]), k
    backbone.load_state_dict(converted, strict=True)
    stem = backbone.stem
    for ours, theirs in [
        (stem[0].weight, 'conv1.0.weight'),
        (stem[1].running_var, 'conv1.1.running_var'),
        (stem[3].weight, 'conv1.3.weight'), (stem[4].bias, 'conv1.4.bias'),
        (stem[6].weight, 'conv1.6.weight'),
        (stem[7].running_mean, 'bn1.running_mean'),
        (backbone.layer1[0].downsample[0].weight,
         'layer1.0.downsample.0.weight'),
        (backbone.layer4[1].conv2.weight, 'layer4.1.conv2.weight'),
        (backbone.layer3[0].bn1.weight, 'layer3.0.bn1.weight')
    ]:
        assert torch.equal(ours, official[theirs]), theirs
    # every official tensor (fc aside) is somewhere in the backbone
    own = backbone.state_dict()
    assert sorted(own) == sorted(converted)


def test_resnet_d_bad_input_names_the_problem(tmp_path, capsys):
    official = random_state_dict(resnet_d_shapes(18))
    x = torch.zeros(1)
    result = convert_resnet_d(official | {'layer9.0.conv1.weight': x})
    assert result.unknown == ['layer9.0.conv1.weight']
    assert result.dropped == ['fc.weight', 'fc.bias']
    with pytest.raises(ValueError, match=r'blocks per layer \(2, 2, 2, 3\)'):
        convert_resnet_d(official | {'layer4.2.conv1.weight': x})
    src, dst = tmp_path / 'x.pth', tmp_path / 'y.pth'
    torch.save({'conv1.weight': torch.zeros(1)}, src)
    assert resnet_d_main([str(src), str(dst)]) == 1
    assert 'no deep stem' in capsys.readouterr().err
    assert not dst.exists()


def test_stdc813_lands_where_the_shallow_net_uses_it(tmp_path, capsys):
    official = stdc813_state_dict()
    src, dst = tmp_path / 'STDCNet813M_73.91.tar', tmp_path / 'stdc.pth'
    torch.save({'state_dict': official}, src)
    assert stdc813_main([str(src), str(dst), '--config', ISDNET]) == 0
    out = capsys.readouterr().out
    assert 'MISSING' not in out
    converted = torch.load(dst)['state_dict']
    for gone in ('fc.weight', 'linear.weight', 'bn.running_var',
                 'conv_last.conv.weight', 'x8.0.2.conv_list.0.conv.weight',
                 'features.6.conv_list.0.conv.weight'):
        assert gone in out, gone
    result = checkpoint_filter_fn({'state_dict': official})
    assert not result.unknown
    n_features = sum(k.startswith('features.') for k in official)
    assert len(result.dropped) == len(official) - len(converted)
    assert len(converted) == n_features - sum(
        k.startswith(('features.6.', 'features.7.')) for k in official)

    model = build(ISDNET, refine_head__shallow_net=str(dst))
    model.refine_head.shallow_net.init_weights()
    net = model.refine_head.shallow_net
    for k, v in net.state_dict().items():
        assert torch.equal(v, converted[k]), k
    net.load_state_dict(converted, strict=True)
    stem = official['features.0.conv.weight']
    assert torch.equal(net.stages[0].conv.weight, torch.cat([stem, stem], 1))
    for ours, theirs in [
        (net.stages[1].bn.running_var, 'features.1.bn.running_var'),
        (net.stages[2][0].layers[0].conv.weight,
         'features.2.conv_list.0.conv.weight'),
        (net.stages[2][0].downsample.conv.weight,
         'features.2.avd_layer.0.weight'),
        (net.stages[2][0].downsample.bn.bias, 'features.2.avd_layer.1.bias'),
        (net.stages[2][1].layers[3].bn.weight,
         'features.3.conv_list.3.bn.weight'),
        (net.stages[3][0].layers[1].conv.weight,
         'features.4.conv_list.1.conv.weight'),
        (net.stages[3][1].layers[2].bn.running_mean,
         'features.5.conv_list.2.bn.running_mean')
    ]:
        assert torch.equal(ours, official[theirs]), theirs


def test_stdc813_alias_mismatch_is_refused(tmp_path):
    official = stdc813_state_dict()
    official['x4.0.1.conv.weight'] = official['x4.0.1.conv.weight'] + 1
    with pytest.raises(ValueError, match='x4.0.1.conv.weight should alias'):
        checkpoint_filter_fn(official)


def test_in1k_pre_configs_name_files_under_pretrain():
    for config, key in [(SFNET_R18, 'backbone'), (PFNET_R50, 'backbone')]:
        cfg = Config.fromfile(config)
        ckpt = cfg.model[key].init_cfg.checkpoint
        assert ckpt.startswith('pretrain/') and not osp.isabs(ckpt)
    cfg = Config.fromfile(ISDNET)
    assert cfg.model.pretrained == 'pretrain/resnet18_v1c-b5776b93.pth'
    assert cfg.model.refine_head.shallow_net.init_cfg.checkpoint == \
        'pretrain/stdc1_in1k_isdnet-shallow-6ch.pth'
