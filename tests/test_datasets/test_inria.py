"""Inria Aerial: GeoTIFF reading, 0/255 -> 0/1 converter on the real sample
and the real FCtL split lists, and ``InriaAerialDataset`` with the base config
pipeline."""
import collections
import contextlib
import os
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest
from conftest import REPO, tree_snapshot
from mmengine.config import Config
from PIL import Image

from mmseg_ext.datasets.preparation import inria as ia
from mmseg_ext.datasets.preparation.split_layout import read_split_lists

TILE = 'aerial_sample'
BASE_CFG = osp.join(REPO, 'configs', '_base_', 'datasets', 'inria.py')


@contextlib.contextmanager
def opencv_errors_only():
    """OpenCV's log level at ERROR inside the block, restored after.

    opencv-python 5.x binds it as ``cv2.utils.logging``; 4.x (4.10, the
    numpy 1.x stack's cap) has no such module and binds ``cv2.setLogLevel`` /
    ``cv2.getLogLevel`` at the top level, without the level constants.
    """
    if hasattr(cv2.utils, 'logging'):
        log, error = cv2.utils.logging, cv2.utils.logging.LOG_LEVEL_ERROR
    else:
        log, error = cv2, 2  # cv::utils::logging::LOG_LEVEL_ERROR
    before = log.getLogLevel()
    log.setLogLevel(error)
    try:
        yield
    finally:
        log.setLogLevel(before)


@pytest.fixture(scope='module')
def src(data_root):
    return osp.join(data_root, 'inria')


@pytest.fixture
def lists(tmp_path):
    """The sample is a crop of an Austin tile under its own name: a list in
    FCtL's format (``<tile>_sat.tif``) naming it."""
    d = tmp_path / 'lists'
    d.mkdir()
    (d / 'train.txt').write_text(f'{TILE}_sat.tif\n')
    (d / 'crossvali.txt').write_text('')
    (d / 'test.txt').write_text('')
    return d


def test_binary_to_ids():
    gt = np.array([[0, 255], [255, 0]], np.uint8)
    np.testing.assert_array_equal(ia.binary_to_ids(gt), [[0, 1], [1, 0]])
    assert ia.binary_to_ids(gt).dtype == np.uint8
    bad = gt.copy()
    bad[0, 0], bad[1, 1] = 128, 1
    with pytest.raises(
            ValueError,
            match=r'gt.tif: ground truth must hold '
            r'only 0 and 255, found 1 \(1 px\), 128 \(1 px\)'):
        ia.binary_to_ids(bad, source='gt.tif')
    with pytest.raises(ValueError, match=r'expected an \(H, W\) uint8 mask'):
        ia.binary_to_ids(np.zeros((2, 2, 3), np.uint8))


def test_sample_ground_truth(src):
    path = osp.join(src, 'train', 'gt', f'{TILE}.tif')
    gt = ia.read_gt(path)
    assert gt.shape == (1000, 1000) and gt.dtype == np.uint8
    assert set(np.unique(gt).tolist()) == {0, 255}
    ids = ia.load_gt_ids(path)
    assert ids.sum() == (gt == 255).sum()
    assert 0.10 < ids.mean() < 0.20  # ~14% building in this Austin crop


def test_geotiff_image_read_by_base_pipeline(src):
    """The base config's loader (Pillow decoder) reads the 3-band GeoTIFF as
    BGR uint8, identical to OpenCV/libtiff and to PIL's RGB reversed."""
    from mmseg.registry import TRANSFORMS
    cfg = Config.fromfile(BASE_CFG)
    load = cfg.train_pipeline[0]
    assert load == dict(type='LoadImageFromFile', imdecode_backend='pillow')
    assert cfg.test_pipeline[0] == load
    path = osp.join(src, 'train', 'images', f'{TILE}.tif')
    img = TRANSFORMS.build(load)(dict(img_path=path))['img']
    assert img.shape == (1000, 1000, 3) and img.dtype == np.uint8
    with opencv_errors_only():  # libtiff warns on the GeoTIFF tags
        ref = cv2.imread(path, cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(img, ref)
    with Image.open(path) as im:
        assert im.mode == 'RGB'
        np.testing.assert_array_equal(img, np.asarray(im)[..., ::-1])
    assert not (img[..., 0] == img[..., 2]).all()  # really three bands


def test_real_split_lists_counts(data_root, src, tmp_path):
    splits_dir = osp.join(data_root, 'splits', 'inria')
    lists = read_split_lists(splits_dir, ('train', 'val', 'test'),
                             ia.LIST_SUFFIX)
    assert {
        k: len(v)
        for k, v in lists.items()
    } == {
        'train': 126,
        'val': 27,
        'test': 27
    }
    # the 180 annotated tiles of the download's train/, 36 per city
    cities = collections.Counter(n[:-len('_sat.tif')].rstrip('0123456789')
                                 for v in lists.values() for n in v)
    assert cities == {
        c: 36
        for c in ('austin', 'chicago', 'kitsap', 'tyrol-w', 'vienna')
    }
    # the download's tiles are <tile>.tif under images/ and gt/
    out = tmp_path / 'out'
    with pytest.raises(FileNotFoundError) as e:
        ia.convert(src, splits_dir, str(out))
    msg = str(e.value)
    assert msg.startswith('360 file(s) named by the split lists')
    assert osp.join(src, 'train', 'images', 'vienna27.tif') in msg
    assert osp.join(src, 'train', 'gt', 'vienna27.tif') in msg
    assert not out.exists()


def test_converter_outputs_and_rerun(src, lists, tmp_path):
    out = tmp_path / 'ia'
    before = tree_snapshot(src)
    counts = ia.convert(src, str(lists), str(out))
    assert counts == {
        'written': 1,
        'skipped': 0,
        'per_split': {
            'train': 1,
            'val': 0,
            'test': 0
        }
    }
    assert tree_snapshot(src) == before
    img = out / 'img_dir' / 'train' / f'{TILE}_sat.tif'
    ann = out / 'ann_dir' / 'train' / f'{TILE}_mask.png'
    src_img = osp.join(src, 'train', 'images', f'{TILE}.tif')
    assert img.read_bytes() == open(src_img, 'rb').read()
    try:  # other file system or protected_hardlinks: the converter copies
        os.link(src_img, tmp_path / 'probe')
        can_link = True
    except OSError:
        can_link = False
    if can_link:
        assert osp.samefile(img, src_img)  # no second 3 MB copy
    with Image.open(ann) as im:
        assert im.mode == 'L'
        np.testing.assert_array_equal(
            np.asarray(im),
            ia.binary_to_ids(
                ia.read_gt(osp.join(src, 'train', 'gt', f'{TILE}.tif'))))
    mtime = os.stat(ann).st_mtime_ns
    assert ia.convert(src, str(lists), str(out))['skipped'] == 1
    assert os.stat(ann).st_mtime_ns == mtime
    # --copy on a fresh output: equal bytes, its own file
    ia.main(
        [src, '--splits-dir',
         str(lists), '-o',
         str(tmp_path / 'c'), '--copy'])
    copied = tmp_path / 'c' / 'img_dir' / 'train' / f'{TILE}_sat.tif'
    assert not osp.samefile(copied, src_img)
    assert copied.read_bytes() == open(src_img, 'rb').read()
    assert tree_snapshot(src) == before


def test_bad_ground_truth_named_nothing_left(src, lists, tmp_path):
    dl = tmp_path / 'download'
    (dl / 'train' / 'images').mkdir(parents=True)
    (dl / 'train' / 'gt').mkdir()
    shutil.copyfile(
        osp.join(src, 'train', 'images', f'{TILE}.tif'),
        dl / 'train' / 'images' / f'{TILE}.tif')
    gt = ia.read_gt(osp.join(src, 'train', 'gt', f'{TILE}.tif'))
    gt[5, 7] = 128  # e.g. a resampled mask
    bad = dl / 'train' / 'gt' / f'{TILE}.tif'
    Image.fromarray(gt).save(bad)
    out = tmp_path / 'out'
    with pytest.raises(
            ValueError,
            match=rf'{bad}: ground truth must hold '
            r'only 0 and 255, found 128 \(1 px\)'):
        ia.convert(str(dl), str(lists), str(out))
    assert not any(f for *_, f in os.walk(out))
    # a listed tile missing from the download is named before any work
    (lists / 'test.txt').write_text('austin1_sat.tif\n')
    with pytest.raises(
            FileNotFoundError,
            match=r'2 file\(s\) .*'
            r'images/austin1.tif \(test.txt\), .*gt/austin1.tif'):
        ia.convert(str(dl), str(lists), str(out))


def test_dataset_with_base_pipeline(src, lists, tmp_path):
    from mmseg.registry import DATASETS
    out = tmp_path / 'ia'
    ia.convert(src, str(lists), str(out), splits=['train'])
    cfg = Config.fromfile(BASE_CFG)
    train = cfg.train_dataloader.dataset
    train.data_root = str(out)
    # the published 5000 x 0.8 resize / 2000 crop, shrunk: 320 x 0.8 -> 256,
    # crop 128
    assert train.pipeline[2].ratio_range == (0.8, 0.8)
    train.pipeline[2].scale = (320, 320)
    train.pipeline[3].crop_size = (128, 128)
    ds = DATASETS.build(train)
    assert ds.metainfo['classes'] == ('background', 'building')
    sample = ds[0]
    assert sample['inputs'].shape == (3, 128, 128)
    assert set(sample['data_samples'].gt_sem_seg.data.unique().tolist()) <= {
        0, 1, 255
    }

    test = cfg.test_dataloader.dataset
    test.data_root = str(out)
    test.data_prefix = dict(
        img_path='img_dir/train', seg_map_path='ann_dir/train')
    test.pipeline[1].scale = (320, 320)
    sample = DATASETS.build(test)[0]
    assert sample['inputs'].shape == (3, 320, 320)
    seg = sample['data_samples'].gt_sem_seg.data
    assert seg.shape == (1, 1000, 1000)
    assert set(seg.unique().tolist()) == {0, 1}
