"""The model zoo: ``mim search mmseg_ext`` lists every shipped config.

mim reads ``<installed mmseg_ext>/.mim/model-index.yml`` (the checkout's
``model-index.yml`` and ``configs/<algo>/metafile.yaml``, copied into the
package by setup.cfg's package data), so this also proves that the
non-editable install carries the metafiles.
"""
import glob
import os.path as osp
import re
import subprocess

import yaml
from conftest import REPO, clean_env, is_deploy_or_base_config

CONFIGS = {
    osp.splitext(osp.basename(p))[0]
    for p in glob.glob(osp.join(REPO, 'configs', '*', '*.py'))
    if not is_deploy_or_base_config(p)
}


def test_mim_search_lists_every_config(mim):
    proc = subprocess.run([mim, 'search', 'mmseg_ext'],
                          cwd='/',
                          env=clean_env(),
                          capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    listed = re.findall(r'^config id: (\S+)$', proc.stdout, re.M)
    assert len(listed) == len(set(listed))
    assert set(listed) == CONFIGS, (
        f'missing: {sorted(CONFIGS - set(listed))}; '
        f'extra: {sorted(set(listed) - CONFIGS)}')


def test_metafiles_point_at_real_configs_and_sources():
    with open(osp.join(REPO, 'model-index.yml')) as f:
        imports = yaml.safe_load(f)['Import']
    algos = {
        osp.basename(osp.dirname(p))
        for p in glob.glob(osp.join(REPO, 'configs', '*', '*.py'))
        if not is_deploy_or_base_config(p)
    }
    assert sorted(imports) == sorted(f'configs/{a}/metafile.yaml'
                                     for a in algos)
    reported = 0
    for meta in imports:
        with open(osp.join(REPO, meta)) as f:
            doc = yaml.safe_load(f)
        (coll, ) = doc['Collections']
        assert osp.isfile(osp.join(REPO, coll['README'])), coll['README']
        for model in doc['Models']:
            assert osp.isfile(osp.join(REPO, model['Config']))
            assert osp.splitext(osp.basename(
                model['Config']))[0] == model['Name']
            assert model['In Collection'] == coll['Name']
            assert model['Weights'] == ''  # no checkpoint is released here
            metrics = model['Results']['Metrics']
            source = model['Metadata']['Results source']
            if metrics:
                reported += 1
                assert 'reported' in source and 'not reproduced' in source
                assert all(0 < v < 100 for v in metrics.values())
    assert reported >= 14
