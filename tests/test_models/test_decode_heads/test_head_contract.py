"""Every model follows mmseg's head contract, through the configs.

One family config each (SFNet, SFNet-DSN, PFNet, GloRe, GINet, ISDNet and
the PointRend/PSPNet/DeepLabv3 configs on mmseg's heads), built on CPU
(SyncBN -> BN, no pretrained weights) and run on a 64x64 image:

* ``mode='tensor'`` (``model._forward``, what deployment exports) gives
  the logits (1, num_classes, h, w) through the heads' ``forward``, and
  ``mode='predict'`` gives those logits resized to the image (PointRend:
  predict only, mmseg 1.2.2's cascade segmentor has no tensor mode);
* ``mode='loss'`` gives finite losses; the label values are checked once
  per batch (one host sync) by ``LabelCheckHook`` before the iteration, not
  again by the heads or losses, and a bad label map is named in the same
  error for every model.

The loss batch holds 2 images: in training, BN over the PPM's / ASPP's
1x1 pooled map needs more than one value per channel.
"""
import functools
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from conftest import REPO
from mmengine.structures import PixelData
from mmseg.models.utils import resize
from mmseg.structures import SegDataSample

import mmseg_ext.engine.hooks.label_check_hook as label_check_hook
import mmseg_ext.models.utils.label_check as label_check
from mmseg_ext.apis import build_model

SIZE = (64, 64)

# family -> (config, num_classes, side of the tensor-mode logits)
FAMILIES = {
    'sfnet': ('sfnet/sfnet_r18-d32_4xb2-50k_cityscapes-512x1024.py', 19, 16),
    'sfnet_dsn':
    ('sfnet/sfnet_r18-d32-dsn_4xb2-50k_cityscapes-512x1024.py', 19, 16),
    'pfnet': ('pfnet/pfnet_r50-d32_8xb2-34k_isaid-896x896.py', 16, 16),
    'glore': ('glore/glore_r50-d8_4xb2-80k_cityscapes-512x1024.py', 19, 8),
    'ginet': ('ginet/ginet_r50-d8_4xb2-80k_cityscapes-512x1024.py', 19, 8),
    'isdnet': ('isdnet/isdnet_r18-d8_4xb2-80k_deepglobe-1224x1224.py', 7, 8),
    'pointrend':
    ('pointrend/pointrend_r50_4xb4-80k_cityscapes-512x1024.py', 19, 16),
    'pspnet':
    ('pspnet/pspnet_r101-d8-mg124_4xb2-30k_cityscapes-769x769.py', 19, 8),
    'deeplabv3':
    ('deeplabv3/deeplabv3_r101-d8-mg124_4xb2-30k_cityscapes-769x769.py', 19,
     8),
}

pytestmark = pytest.mark.usefixtures('one_thread')


@functools.lru_cache(maxsize=None)
def _build(family):
    torch.manual_seed(0)
    return build_model(
        osp.join(REPO, 'configs', FAMILIES[family][0]),
        cfg_options={'model.pretrained': None})


def _image(n, seed=0):
    return torch.randn(
        n, 3, *SIZE, generator=torch.Generator().manual_seed(seed))


def _samples(n, num_classes, bad=None):
    out = []
    g = torch.Generator().manual_seed(1)
    for i in range(n):
        label = torch.randint(0, num_classes, (1, *SIZE), generator=g)
        label[:, :4] = 255
        meta = dict(
            img_shape=SIZE,
            ori_shape=SIZE,
            pad_shape=SIZE,
            seg_map_path=f'lbl_{i}.png')
        if bad is not None and i == 1:
            label[0, 10, 10] = bad
        s = SegDataSample(metainfo=meta)
        s.gt_sem_seg = PixelData(data=label)
        s.gt_edge_map = PixelData(data=(label == 0).long())
        out.append(s)
    return out


def _align_corners(model):
    head = getattr(model, 'refine_head', model.decode_head)
    return head.align_corners


def _predict(model, family):
    num_classes = FAMILIES[family][1]
    with torch.no_grad():
        preds = model(_image(1), _samples(1, num_classes), mode='predict')
    seg = preds[0].seg_logits.data
    assert seg.shape == (num_classes, *SIZE)
    assert preds[0].pred_sem_seg.data.shape == (1, *SIZE)
    return seg


@pytest.mark.parametrize('family', sorted(set(FAMILIES) - {'pointrend'}))
def test_tensor_mode_is_forward_and_predict_resizes_it(family):
    model = _build(family).eval()
    _, num_classes, side = FAMILIES[family]
    img = _image(1)
    with torch.no_grad():
        logits = model(img, mode='tensor')
        assert torch.equal(model._forward(img), logits)
    assert isinstance(logits, torch.Tensor)
    assert logits.shape == (1, num_classes, side, side)
    expected = resize(
        logits,
        size=SIZE,
        mode='bilinear',
        align_corners=_align_corners(model))
    torch.testing.assert_close(_predict(model, family), expected[0])


def test_pointrend_predicts_but_mmseg_has_no_cascade_tensor_mode():
    """mmseg 1.2.2's ``CascadeEncoderDecoder._forward`` calls
    ``PointHead.forward(x, prev)`` with the backbone tuple, which PointHead
    cannot take (``tools/fps_test.py --mode predict`` times PointRend)."""
    model = _build('pointrend').eval()
    with torch.no_grad(), pytest.raises(TypeError, match='expected Tensor'):
        model(_image(1), mode='tensor')
    with torch.no_grad():  # the coarse (FPN) head alone follows the contract
        coarse = model.decode_head[0](model.extract_feat(_image(1)))
    side = FAMILIES['pointrend'][2]
    assert coarse.shape == (1, 19, side, side)
    _predict(model, 'pointrend')


def _hook(model):
    hook = label_check_hook.LabelCheckHook()
    hook.before_run(SimpleNamespace(model=model))
    return hook


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_labels_are_checked_once_per_batch_by_the_hook(family, monkeypatch):
    model = _build(family).train()
    num_classes = FAMILIES[family][1]
    calls = []
    check = label_check.check_seg_labels

    def counted(*args, **kwargs):
        calls.append(1)
        return check(*args, **kwargs)

    for module in (label_check, label_check_hook):
        monkeypatch.setattr(module, 'check_seg_labels', counted)
    batch = dict(inputs=_image(2), data_samples=_samples(2, num_classes))
    _hook(model).before_train_iter(None, 0, batch)
    losses = model(**batch, mode='loss')
    total, _ = model.parse_losses(losses)
    assert torch.isfinite(total)
    assert len(calls) == 1  # the hook's; no head or loss checks again


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_bad_label_map_is_named_with_one_error_text(family):
    """Our heads and mmseg's alike: the hook reads the model's classes."""
    model = _build(family)
    num_classes = FAMILIES[family][1]
    batch = dict(
        inputs=_image(2),
        data_samples=_samples(2, num_classes, bad=num_classes + 3))
    with pytest.raises(
            ValueError,
            match=(rf'label maps hold ids outside \[0, {num_classes}\) '
                   r'that are not ignore_index=255 .*lbl_1\.png: values '
                   rf'\[{num_classes + 3}\]')):
        _hook(model).before_train_iter(None, 0, batch)
