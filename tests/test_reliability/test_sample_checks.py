"""Image/label pairs that cannot belong together are refused as they load,
naming both files and their sizes (width x height), before any training.

The datasets of every shipped config insert ``CheckLoadedSample`` after the
loading steps (:mod:`mmseg_ext.datasets.checked`). The train command runs in
the test process (:mod:`inprocess`: same entry point and arguments, no 8 s
start-up).
"""
import copy
import os
import os.path as osp
import shutil

import inprocess
import numpy as np
import pytest
from mmseg.registry import DATASETS
from PIL import Image

from tools.main_job.cityscapes import cityscapes_train_options
from tools.main_job.options import load_config
from tools.main_job.sfnet import R18

FRAME = 'frankfurt_000000_000294'
IMG_REL = f'leftImg8bit/val/frankfurt/{FRAME}_leftImg8bit.png'
LBL_REL = f'gtFine/val/frankfurt/{FRAME}_gtFine_labelTrainIds.png'


@pytest.fixture
def cityscapes_copy(tmp_path, cityscapes_root):
    """A copy of the sample's image and labelTrainIds map (official
    layout) under ``tmp_path``; the originals are never written."""
    root = tmp_path / 'cityscapes'
    for rel in (IMG_REL, LBL_REL):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(osp.join(cityscapes_root, rel), root / rel)
    return root


def _dataset(root, loader='train_dataloader'):
    ds = copy.deepcopy(load_config(R18)[loader].dataset)  # cached parse
    ds.data_root = str(root)
    ds.data_prefix = dict(
        img_path='leftImg8bit/val', seg_map_path='gtFine/val')
    return DATASETS.build(ds)


def _resize(path, size):
    Image.open(path).resize(size, Image.NEAREST).save(path)


def test_size_mismatch_refused_by_mim_train(cityscapes_copy, tmp_path):
    """Before: a 200x100 label for the 256x128 image trained and wrote a
    checkpoint; validation then failed with an IndexError naming no file."""
    _resize(cityscapes_copy / LBL_REL, (200, 100))
    work = tmp_path / 'work'
    out = inprocess.failure(inprocess.train, [
        R18, '--work-dir', work, '--cfg-options',
        *cityscapes_train_options(load_config(R18), str(cityscapes_copy), 2)
    ])
    assert (f'image {cityscapes_copy / IMG_REL} is 256x128 px but its label '
            f'map {cityscapes_copy / LBL_REL} is 200x100 px') in out
    assert not [
        f for *_, fs in os.walk(work) for f in fs if f.endswith('.pth')
    ] and not (work / 'last_checkpoint').exists()


@pytest.mark.parametrize('loader', ['train_dataloader', 'val_dataloader'])
def test_one_pixel_image_named_with_the_minimum(cityscapes_copy, loader):
    """Before: ``ValueError: not enough values to unpack`` in mmcv's
    imrescale (mmseg's LoadAnnotations squeezes a 1x1 map to 0-d)."""
    for rel in (IMG_REL, LBL_REL):
        _resize(cityscapes_copy / rel, (1, 1))
    with pytest.raises(ValueError) as e:
        _dataset(cityscapes_copy, loader)[0]
    assert str(e.value).startswith(
        f'image {cityscapes_copy / IMG_REL} is 1x1 px (width x height); '
        'images must be at least 32x32 px')


def test_image_below_minimum_named(cityscapes_copy):
    for rel in (IMG_REL, LBL_REL):
        _resize(cityscapes_copy / rel, (256, 31))
    with pytest.raises(ValueError, match=r'is 256x31 px .* at least 32x32'):
        _dataset(cityscapes_copy)[0]


def test_label_with_a_one_pixel_side_named(cityscapes_copy):
    _resize(cityscapes_copy / LBL_REL, (256, 1))
    with pytest.raises(ValueError) as e:
        _dataset(cityscapes_copy)[0]
    assert str(e.value).startswith(
        f'label map {cityscapes_copy / LBL_REL} (256x1 px) is not a '
        'single-channel 2-D id map')


def test_val_pipeline_resizes_the_image_first_sizes_still_compared(
        cityscapes_copy):
    """mmseg's test pipelines resize the image before LoadAnnotations: the
    image's own size (``ori_shape``) is compared."""
    ds = _dataset(cityscapes_copy, 'val_dataloader')
    assert ds[0]['data_samples'].gt_sem_seg.shape == (128, 256)  # intact
    _resize(cityscapes_copy / LBL_REL, (128, 64))
    with pytest.raises(
            ValueError,
            match='is 256x128 px but its label map '
            r'.*labelTrainIds.png is 128x64 px'):
        ds[0]


def test_rgb_label_map_named(cityscapes_copy):
    lbl = np.asarray(Image.open(cityscapes_copy / LBL_REL))
    Image.fromarray(np.stack([lbl] * 3, -1)).save(cityscapes_copy / LBL_REL)
    with pytest.raises(
            ValueError,
            match=r'not a single-channel 2-D id map '
            r'\(got an array of shape \(128, 256, 3\)\)'):
        _dataset(cityscapes_copy)[0]
