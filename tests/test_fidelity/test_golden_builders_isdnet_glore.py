"""The ISDNet and GloRe golden-fixture builders without the official code.

The builders (``tools.fidelity.golden.isdnet`` / ``.glore``) import the
official code only inside ``build()``: the modules import without it, and
``build()`` then names the repository to clone and where to put it.
"""
import sys
from collections import OrderedDict

import pytest
import torch
import torch.nn as nn

from tools.fidelity.golden import glore, isdnet
from tools.fidelity.golden._isdnet_official import official_isdnet


def test_glore_build_names_the_repository_and_pythonpath(
        tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, 'network', None)  # not importable
    out = tmp_path / 'glore.pth'
    with pytest.raises(ImportError) as err:
        glore.build(str(out))
    msg = str(err.value)
    assert 'facebookresearch/GloRe' in msg and '9c6a734' in msg
    assert 'PYTHONPATH=/path/to/GloRe' in msg
    assert not out.exists()


def test_isdnet_build_without_a_checkout_names_the_repository(
        tmp_path, monkeypatch):
    monkeypatch.delenv('ISDNET_ROOT', raising=False)
    out = tmp_path / 'isdnet.pth'
    with pytest.raises(ImportError) as err:
        isdnet.build(str(out))
    msg = str(err.value)
    assert 'cedricgsh/ISDNet' in msg and '7341335' in msg
    assert 'ISDNET_ROOT=/path/to/ISDNet' in msg and 'PYTHONPATH' in msg
    assert not out.exists()


def test_isdnet_build_rejects_a_folder_without_the_official_files(tmp_path):
    out = tmp_path / 'isdnet.pth'
    with pytest.raises(ImportError, match='isdhead.py does not exist'):
        isdnet.build(str(out), official_root=str(tmp_path))
    assert not out.exists()


def test_failed_official_import_leaves_mmseg_untouched(tmp_path):
    """A checkout whose files fail to import: ``sys.modules`` restored."""
    import mmseg
    before = {k: v for k, v in sys.modules.items() if k.startswith('mmseg')}
    root = tmp_path / 'ISDNet'
    heads = 'models/decode_heads/'
    for rel in (heads + 'isdhead', heads + 'stdc_head',
                heads + 'aspp_refine_head', heads + 'fcn_head',
                'models/backbones/resnet', 'models/utils/res_layer',
                'models/segmentors/encoder_decoder_refine', 'ops/wrappers'):
        path = root / 'mmseg' / f'{rel}.py'
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('raise RuntimeError("not the official code")\n')
    cfg = root / 'configs' / 'isdnet'
    cfg.mkdir(parents=True)
    (cfg / 'isdnet_r18-d8_1224x1224_80k_DeepGlobe.py').write_text('')
    with pytest.raises(RuntimeError, match='not the official code'):
        with official_isdnet(str(root)):
            pass
    after = {k: v for k, v in sys.modules.items() if k.startswith('mmseg')}
    assert after == before and sys.modules['mmseg'] is mmseg
    assert 'mmcv.runner' not in sys.modules


def test_isdnet_layout_records_shared_tensors_as_aliases():
    """The official ``stdc_net.x*`` views share the ``features`` modules."""

    class Net(nn.Module):

        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
            self.x2 = nn.Sequential(self.features[:1])

    case = isdnet.layout(Net().state_dict(keep_vars=True), 'head.')
    assert case['aliases'] == {
        'head.x2.0.0.weight': 'head.features.0.weight',
        'head.x2.0.0.bias': 'head.features.0.bias'
    }
    assert case['shapes']['head.features.1.running_var'] == (4, )
    sd = isdnet.official_state_dict(case)
    assert list(sd) == case['keys']
    assert sd['head.x2.0.0.weight'] is sd['head.features.0.weight']
    assert torch.equal(sd['head.features.1.running_var'],
                       isdnet.det_fill((4, ), 5, 'running_var'))
    assert sd['head.features.1.num_batches_tracked'].item() == 0
    assert isinstance(sd, OrderedDict)


def test_det_fill_is_rng_free():
    torch.manual_seed(0)
    a = isdnet.det_fill((8, 3, 3, 3), 5, 'conv')
    torch.manual_seed(1)
    assert torch.equal(a, isdnet.det_fill((8, 3, 3, 3), 5, 'conv'))
    assert not torch.equal(a, isdnet.det_fill((8, 3, 3, 3), 6, 'conv'))
