"""``mmseg_ext.apis.build_model``/``load_config``: the one way a config
becomes a model outside a Runner (benchmark, export, converters, tests).

Built from a config path and from a ``Config``, with ``cfg_options``; a
checkpoint the test writes is loaded strictly (``module.`` prefixes and
mmseg 0.x ``CLASSES`` meta read as mmseg's ``init_model`` reads them);
SyncBN is reverted so a training-mode forward runs on the CPU; every error
names the file or the keys."""
import os.path as osp

import pytest
import torch
from conftest import REPO
from mmengine.config import Config
from torch.nn import SyncBatchNorm
from torch.nn.modules.batchnorm import _BatchNorm

from mmseg_ext.apis import build_model, load_config

R18 = osp.join(REPO, 'configs', 'sfnet',
               'sfnet_r18-d32_4xb2-50k_cityscapes-512x1024.py')

pytestmark = pytest.mark.usefixtures('one_thread')


def _norms(model):
    return [m for m in model.modules() if isinstance(m, _BatchNorm)]


def test_builds_from_a_path_and_from_a_config():
    from_path = build_model(R18)
    cfg = Config.fromfile(R18)
    init = dict(type='Pretrained', checkpoint='pretrain/r18.pth')
    from_cfg = build_model(
        cfg,
        cfg_options={
            'model.decode_head.num_classes': 5,
            'model.backbone.init_cfg': init
        })
    assert not from_path.training and not from_cfg.training
    assert isinstance(from_path.cfg, Config) and from_cfg.cfg is cfg
    assert cfg.model.decode_head.num_classes == 5  # merged, as init_model
    assert from_path.decode_head.conv_seg.out_channels == 19
    assert from_cfg.decode_head.conv_seg.out_channels == 5
    shapes = [{
        k: v.shape
        for k, v in m.state_dict().items() if 'conv_seg' not in k
    } for m in (from_path, from_cfg)]
    assert shapes[0] == shapes[1]
    # the config is kept as it is (init_model clears these); building
    # loads no pretrained weights
    assert from_cfg.cfg.model.train_cfg == {}
    assert from_cfg.cfg.model.backbone.init_cfg == init
    assert from_cfg.backbone.init_cfg == init
    assert load_config(R18, {'model.decode_head.num_classes': 3}) \
        .model.decode_head.num_classes == 3


def test_syncbn_is_reverted_for_a_cpu_training_step():
    assert Config.fromfile(R18).norm_cfg.type == 'SyncBN'
    model = build_model(R18)
    norms = _norms(model)
    assert norms and not any(isinstance(m, SyncBatchNorm) for m in norms)
    model.train()
    out = model(torch.randn(2, 3, 64, 64), mode='tensor')
    out.mean().backward()  # a SyncBN forward needs a process group here


def test_loads_the_checkpoint_the_test_writes(tmp_path):
    torch.manual_seed(0)
    trained = build_model(R18)
    state = {
        k: v + 1 if v.is_floating_point() else v
        for k, v in trained.state_dict().items()
    }
    meta = {'dataset_meta': {'classes': ('a', ) * 19}}
    ckpt = tmp_path / 'trained.pth'
    torch.save({'state_dict': state, 'meta': meta}, ckpt)
    torch.manual_seed(1)
    model = build_model(R18, str(ckpt))
    for k, v in model.state_dict().items():
        assert torch.equal(v, state[k]), k
    assert model.dataset_meta == meta['dataset_meta']
    # DDP's module. prefix and mmseg 0.x's CLASSES/PALETTE meta
    old = tmp_path / 'old.pth'
    torch.save(
        {
            'state_dict': {
                f'module.{k}': v
                for k, v in state.items()
            },
            'meta': {
                'CLASSES': ('b', ) * 19,
                'PALETTE': [[0, 0, 0]] * 19
            }
        }, old)
    model = build_model(R18, old)
    assert torch.equal(model.decode_head.conv_seg.weight,
                       state['decode_head.conv_seg.weight'])
    assert model.dataset_meta['classes'] == ('b', ) * 19
    # no meta: nothing guessed
    flat = tmp_path / 'flat.pth'
    torch.save(state, flat)
    assert not hasattr(build_model(R18, flat), 'dataset_meta')


def test_errors_name_the_file_and_the_keys(tmp_path):
    missing = tmp_path / 'nowhere.py'
    with pytest.raises(
            FileNotFoundError, match=f'config file not found: '
            f'{missing}'):
        build_model(str(missing))
    with pytest.raises(TypeError, match='file name or a Config, not dict'):
        build_model(dict(model=dict()))
    with pytest.raises(
            FileNotFoundError,
            match=f'checkpoint not found: {tmp_path}/none.pth'):
        build_model(R18, str(tmp_path / 'none.pth'))
    not_weights = tmp_path / 'list.pth'
    torch.save([1, 2], not_weights)
    with pytest.raises(ValueError, match=f'{not_weights}: not a state dict'):
        build_model(R18, str(not_weights))

    state = build_model(R18).state_dict()
    del state['decode_head.conv_seg.bias']
    state['decode_head.extra.weight'] = torch.zeros(1)
    state['decode_head.conv_seg.weight'] = torch.zeros(5, 128, 1, 1)
    other = tmp_path / 'other.pth'
    torch.save({'state_dict': state}, other)
    with pytest.raises(RuntimeError) as e:
        build_model(R18, str(other))
    for text in (f'checkpoint {other} does not match', '1 missing key(s)',
                 'decode_head.conv_seg.bias', '1 unexpected key(s)',
                 'decode_head.extra.weight',
                 'decode_head.conv_seg.weight checkpoint (5, 128, 1, 1) vs '
                 'model (19, 128, 1, 1)'):
        assert text in str(e.value), text
    partial = build_model(R18, str(other), strict=False)
    key = 'backbone.stem.0.weight'
    assert torch.equal(partial.state_dict()[key], state[key])
