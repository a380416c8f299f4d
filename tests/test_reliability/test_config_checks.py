"""Every shipped config runs the bad-input checks in train, val and test:
``LabelCheckHook`` in ``custom_hooks`` and, for each dataloader, a dataset
class with :class:`~mmseg_ext.datasets.SampleCheckMixin` whose pipeline has a
loading step to put ``CheckLoadedSample`` after."""
import functools
import glob
import os.path as osp

import pytest
from conftest import REPO, is_deploy_or_base_config
from mmengine.config import Config
from mmengine.config import utils as config_utils
from mmseg.registry import DATASETS

from mmseg_ext.datasets import SampleCheckMixin

CONFIGS = sorted(
    p for p in glob.glob(
        osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
    if not is_deploy_or_base_config(p))


@pytest.fixture(scope='module', autouse=True)
def fast_base_lookup():
    """Memoise mmengine's metafile scan per ``mmseg::`` path (it reads every
    mmseg metafile on each call; the result, or its ValueError for a base
    file, is the same each time)."""
    orig = config_utils._get_cfg_metainfo

    @functools.lru_cache(maxsize=None)
    def cached(package_path, cfg_path):
        try:
            return True, orig(package_path, cfg_path)
        except ValueError as e:
            return False, e

    def lookup(package_path, cfg_path):
        ok, value = cached(package_path, cfg_path)
        if not ok:
            raise value
        return value

    config_utils._get_cfg_metainfo = lookup
    yield
    config_utils._get_cfg_metainfo = orig


def test_there_are_configs():
    assert len(CONFIGS) >= 24


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_runs_the_checks(path):
    cfg = Config.fromfile(path)
    assert 'LabelCheckHook' in [h['type'] for h in cfg.custom_hooks]
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        stack = [cfg[loader].dataset]
        while stack:
            ds = stack.pop()
            if 'datasets' in ds:  # ConcatDataset (e.g. CamVid train+val)
                stack += ds.datasets
                continue
            while 'dataset' in ds:  # a wrapper (e.g. ClassUniformDataset)
                ds = ds.dataset
            assert issubclass(DATASETS.get(ds.type),
                              SampleCheckMixin), (loader, ds.type)
            assert any(t.type.startswith('Load') for t in ds.pipeline), loader
