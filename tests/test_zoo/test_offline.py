"""Offline: building, initialising and testing need no network.

Every shipped config is built and initialised (``init_weights``, what
``mim train`` runs first) with the network unreachable (every socket
connection refused) and an empty torch hub cache: one build per
architecture (:func:`architecture`), the configs that differ only in what
downloads nothing (class count, data preprocessor, train/test settings)
share its outcome. Building never touches the network. Initialising
either succeeds (configs that train from scratch) or, for configs that name
ImageNet weights, fails with
:class:`PretrainedDownloadError` / :class:`PretrainedFileNotFoundError`
naming the weight file and the ``--cfg-options`` that give a local path.
"""
import copy
import glob
import os.path as osp
import re
import socket

import pytest
import torch
from conftest import REPO, is_deploy_or_base_config
from mmengine.config import Config
from mmseg.registry import MODELS

from mmseg_ext.apis import build_model
from mmseg_ext.utils.pretrained import (PretrainedDownloadError,
                                        PretrainedFileNotFoundError)

CONFIGS = sorted(
    p for p in glob.glob(osp.join(REPO, 'configs', '*', '*.py'))
    if not is_deploy_or_base_config(p))


def _refuse(*args, **kwargs):
    raise OSError(101, 'Network is unreachable (test: offline)')


@pytest.fixture
def offline(monkeypatch, tmp_path, repo_root_one_thread):
    monkeypatch.setattr(socket, 'create_connection', _refuse)
    monkeypatch.setattr(socket.socket, 'connect', _refuse)
    hub = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / 'hub'))
    assert not osp.exists(osp.join(REPO, 'pretrain')), \
        'pretrain/ exists in the checkout: the offline test needs it absent'
    yield
    torch.hub.set_dir(hub)


@pytest.fixture
def memo_external_bases(monkeypatch):
    """mmengine 0.10 resolves every ``mmseg::`` base of a config by
    reloading ``pkg_resources`` (``is_installed``) and parsing all of
    mmseg's metafiles (``_get_external_cfg_path``): about 0.9 s of CPU
    per config (6 configs: 5.4 s, 0.3 s memoised), most of this test's time
    over 65 configs. Each answer (or error) is computed once here and
    repeated; the files are the same."""
    from mmengine.config import config as mm_config

    def memo(fn):
        done = {}

        def once(*args):
            if args not in done:
                try:
                    done[args] = (fn(*args), None)
                except Exception as e:  # noqa: BLE001 - repeated below
                    done[args] = (None, e)
            value, error = done[args]
            if error is not None:
                raise type(error)(*error.args)
            return value

        return once

    for name in ('is_installed', '_get_external_cfg_path'):
        monkeypatch.setattr(mm_config, name, memo(getattr(mm_config, name)))


def named_weights(model_cfg) -> list:
    """Every ``pretrained`` / ``init_cfg.checkpoint`` in a model config."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get('pretrained'), str):
                found.append(node['pretrained'])
            init = node.get('init_cfg')
            if isinstance(init, dict) and init.get('checkpoint'):
                found.append(init['checkpoint'])
            for v in node.values():
                walk(v)
        elif isinstance(node, (list, tuple)):
            for v in node:
                walk(v)

    walk(model_cfg)
    return found


def _timm_offline(cfg) -> str:
    """mmseg's TIMMBackbone with ``pretrained=True`` has timm fetch the
    ImageNet weights from the Hugging Face Hub while *building* (timm
    1.0's ``create_model``), not in ``init_weights``: offline the build
    fails with huggingface_hub's ``LocalEntryNotFoundError`` (an
    ``OSError``; our clear-error loaders do not see it). The README's route,
    ``model.backbone.pretrained=False`` (and ``checkpoint_path=PATH`` for a
    local timm file), builds and initialises offline."""
    assert cfg.model.backbone.pretrained is True
    with pytest.raises(OSError) as info:
        MODELS.build(cfg.model)
    chain, error = [], info.value
    while error is not None:
        chain.append(repr(error))
        error = error.__cause__ or error.__context__
    assert any('test: offline' in e for e in chain), chain
    model = build_model(
        copy.deepcopy(cfg), cfg_options={'model.backbone.pretrained': False})
    model.init_weights()
    return f'build fetches timm weights ({type(info.value).__name__}); ' \
        'pretrained=False initialised offline'


def architecture(model_cfg) -> str:
    """``model_cfg`` without what downloads nothing: the class count (and
    GINet's class embeddings), the data preprocessor (input size, padding,
    normalisation) and the train/test settings (sliding window, OHEM). The
    Cityscapes / Pascal Context 59 / 60 twins, the ``-test`` configs and the
    same model at other crop sizes share one key."""
    model = copy.deepcopy(model_cfg)
    for key in ('data_preprocessor', 'train_cfg', 'test_cfg'):
        model.pop(key, None)
    # a ConfigDict's repr is a dict's: ``'num_classes': 19``
    return re.sub(r"'num_classes': \d+|'class_embeddings': [^,}]*", '',
                  repr(model))


def test_build_and_init_every_config_offline(offline, memo_external_bases):
    seen, outcomes, timm_seen = {}, {}, {}
    for path in CONFIGS:
        cfg = Config.fromfile(path)
        # one build per architecture
        key = architecture(cfg.model)
        name = osp.relpath(path, REPO)
        if key in seen:
            outcomes[name] = outcomes[seen[key]]
            continue
        seen[key] = name
        if 'TIMMBackbone' in key:
            try:
                import timm  # noqa: F401
            except Exception:  # noqa: BLE001 - timm needs torchvision
                outcomes[name] = 'skipped (timm does not import)'
                continue
            # huggingface_hub retries each file 5 times (~23 s): one
            # check per timm backbone, whatever the heads
            timm_key = repr(cfg.model.backbone)
            if timm_key not in timm_seen:
                timm_seen[timm_key] = _timm_offline(cfg)
            outcomes[name] = timm_seen[timm_key]
            continue
        weights = named_weights(cfg.model)
        model = build_model(cfg)  # no network
        try:
            model.init_weights()
        except (PretrainedDownloadError, PretrainedFileNotFoundError) as e:
            msg = str(e)
            assert weights, f'{name}: {msg}'
            assert any(w in msg for w in weights), (name, weights, msg)
            assert '--cfg-options' in msg and 'PATH' in msg, msg
            outcomes[name] = type(e).__name__
        else:
            assert not weights, f'{name} names {weights} but initialised'
            outcomes[name] = 'initialised from scratch'
        del model
    for name, outcome in outcomes.items():
        print(f'{name}: {outcome}')
    assert len(outcomes) == len(CONFIGS)
    # the in1k-pre configs name converted files under pretrain/
    sfnet = 'configs/sfnet/sfnet_r18-d32_in1k-pre_4xb2-50k_cityscapes-'
    assert outcomes[sfnet + '512x1024.py'] == 'PretrainedFileNotFoundError'
    assert outcomes[
        'configs/sfnet/sfnet_r18-d32_4xb2-50k_cityscapes-512x1024.py'] == \
        'initialised from scratch'
    assert outcomes['configs/isdnet/isdnet_r18-d8_4xb2-80k_deepglobe-'
                    '1224x1224.py'] == 'PretrainedDownloadError'


def test_download_error_names_file_url_and_cache(offline):
    from mmengine.runner.checkpoint import CheckpointLoader
    url = ('https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/'
           'stdc/stdc1_20220308-5368626c.pth')
    with pytest.raises(PretrainedDownloadError) as info:
        CheckpointLoader.load_checkpoint(url)
    msg = str(info.value)
    assert url in msg and 'URLError' in msg and 'Network is unreachable' \
        in msg
    assert osp.join(torch.hub.get_dir(), 'checkpoints',
                    'stdc1_20220308-5368626c.pth') in msg
    assert 'model.refine_head.shallow_net.init_cfg.checkpoint=PATH' in msg
    with pytest.raises(
            PretrainedDownloadError, match=r'resnet50_v1c-2cccc1ad'):
        CheckpointLoader.load_checkpoint('open-mmlab://resnet50_v1c')


def test_missing_pretrain_file_says_how_to_make_it(offline):
    from mmengine.runner.checkpoint import CheckpointLoader
    with pytest.raises(PretrainedFileNotFoundError) as info:
        CheckpointLoader.load_checkpoint('pretrain/resnet50-deep_mmseg.pth')
    msg = str(info.value)
    assert 'tools/model_converters/resnet_d2mmseg.py resnet50-deep.pth' in msg
    assert 'model.backbone.init_cfg.checkpoint=PATH' in msg
    # other missing files keep mmengine's own error
    with pytest.raises(FileNotFoundError, match='can not be found'):
        CheckpointLoader.load_checkpoint('work_dirs/nothing.pth')
