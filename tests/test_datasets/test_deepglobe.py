"""DeepGlobe Land Cover: RGB -> id converter on the real sample and the real
GLNet split lists, and ``DeepGlobeDataset`` with the base config pipeline."""
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO, tree_snapshot
from mmengine.config import Config
from PIL import Image

from mmseg_ext.datasets.preparation import deepglobe as dg
from mmseg_ext.datasets.preparation.split_layout import (plan_tiles,
                                                         read_split_lists)

TILE = '6399'
BASE_CFG = osp.join(REPO, 'configs', '_base_', 'datasets', 'deepglobe.py')


@pytest.fixture(scope='module')
def src(data_root):
    return osp.join(data_root, 'deepglobe')


@pytest.fixture(scope='module')
def sample_rgb(src):
    return dg.read_rgb_mask(osp.join(src, 'train', f'{TILE}_mask.png'))


@pytest.fixture
def lists(tmp_path):
    """The sample tile is in none of the published lists: our own, in the
    published format (GLNet names, one per line)."""
    d = tmp_path / 'lists'
    d.mkdir()
    (d / 'train.txt').write_text(f'{TILE}_sat.jpg\n')
    (d / 'crossvali.txt').write_text('')
    (d / 'test.txt').write_text('\n')
    return d


def test_palette_matches_dataset():
    from mmseg_ext.datasets import DeepGlobeDataset
    meta = DeepGlobeDataset.METAINFO
    assert meta['classes'] == dg.CLASSES
    assert [tuple(c) for c in meta['palette']] == list(dg.PALETTE)
    assert meta['classes'][0] == 'unknown'  # ISDNet's order: unknown first


def test_rgb_to_class_ids_pure_and_noisy_colours():
    pure = np.array([dg.PALETTE], dtype=np.uint8)  # (1, 7, 3)
    np.testing.assert_array_equal(dg.rgb_to_class_ids(pure), [range(7)])
    # compression noise on every channel stays on its side of 128
    noisy = np.clip(
        pure.astype(int) + np.where(pure > 127, -100, 100), 0,
        255).astype(np.uint8)
    np.testing.assert_array_equal(dg.rgb_to_class_ids(noisy), [range(7)])


def test_sample_class_counts(sample_rgb):
    """The blurred 142x142 sample: counts per class after thresholding."""
    ids = dg.rgb_to_class_ids(sample_rgb, unmatched='ignore')
    assert ids.shape == (142, 142) and ids.dtype == np.uint8
    counts = dict(zip(*np.unique(ids, return_counts=True)))
    # unknown, agriculture, rangeland, forest, water, barren; no urban;
    # two pixels blur to red (255, 0, 0), no class
    assert counts == {
        0: 1459,
        2: 5010,
        3: 10151,
        4: 346,
        5: 3124,
        6: 72,
        255: 2
    }


def test_threshold_is_128_inclusive_on_sample(sample_rgb):
    """A channel at 128 is on, at 127 off: moving the threshold across each
    value changes exactly the pixels holding it."""
    at = {v: (sample_rgb == v).any(-1) for v in (127, 128)}
    assert at[127].sum() > 0 and at[128].sum() > 0  # the sample has both

    def ids(t):
        return dg.rgb_to_class_ids(sample_rgb, threshold=t, unmatched='ignore')

    np.testing.assert_array_equal(ids(128) != ids(129), at[128])
    np.testing.assert_array_equal(ids(127) != ids(128), at[127])
    # and the class given at 128 has the channel holding 128 switched on
    got = ids(128)
    palette = np.array(dg.PALETTE + ((0, 0, 0), ) * 249)[got]  # 255 -> black
    rows, cols = np.nonzero(at[128] & (got != 255))
    for r, c in zip(rows, cols):
        ch = sample_rgb[r, c] == 128
        assert (palette[r, c][ch] == 255).all()


def test_unmatched_colour_error_names_file_and_value(src):
    path = osp.join(src, 'train', f'{TILE}_mask.png')
    with pytest.raises(ValueError) as e:
        dg.load_mask_ids(path)
    msg = str(e.value)
    assert path in msg and '(255, 0, 0)' in msg and '2 pixel' in msg
    assert '(row 129, col 15)' in msg and '(255, 127, 127)' in msg
    unknown = dg.load_mask_ids(path, unmatched='unknown')
    ignore = dg.load_mask_ids(path, unmatched='ignore')
    np.testing.assert_array_equal(unknown == ignore, ignore != 255)
    assert (unknown[ignore == 255] == 0).all()


def test_bad_array_errors():
    with pytest.raises(ValueError, match=r'mask.png: expected an \(H, W, 3\)'):
        dg.rgb_to_class_ids(np.zeros((4, 4), np.uint8), source='mask.png')
    with pytest.raises(ValueError, match='unmatched must be one of'):
        dg.rgb_to_class_ids(np.zeros((4, 4, 3), np.uint8), unmatched='x')


def test_real_split_lists_counts(data_root):
    lists = read_split_lists(
        osp.join(data_root, 'splits', 'deepglobe'), ('train', 'val', 'test'),
        dg.IMG_SUFFIX)
    assert {
        k: len(v)
        for k, v in lists.items()
    } == {
        'train': 454,
        'val': 207,
        'test': 142
    }
    assert lists['train'][0] == '100694_sat.jpg'
    assert lists['train'][276] == f'{TILE}_sat.jpg'  # the sample's tile


def test_real_lists_missing_tiles_named_nothing_written(
        data_root, src, tmp_path):
    out = tmp_path / 'out'
    with pytest.raises(FileNotFoundError) as e:
        dg.convert(src, osp.join(data_root, 'splits', 'deepglobe'), str(out))
    msg = str(e.value)
    # 803 listed tiles, image + mask each; the sample is one of them
    assert msg.startswith('1604 file(s) named by the split lists')
    assert osp.join(src, 'train', '100694_sat.jpg') in msg
    assert '(train.txt)' in msg and 'and 1594 more' in msg
    assert not out.exists()


def test_bad_lists(src, lists):
    (lists / 'test.txt').write_text(f'x.jpg\n{TILE}_sat.jpg\n')
    with pytest.raises(
            ValueError,
            match=r"test.txt:1: 'x.jpg' is not a file "
            "name ending with '_sat.jpg'"):
        plan_tiles(dg.LAYOUT, src, str(lists), '/unused')
    (lists / 'test.txt').write_text(f'{TILE}_sat.jpg\n')
    with pytest.raises(
            ValueError,
            match=r"'6399_sat.jpg' is listed in both "
            r'.*train.txt and .*test.txt'):
        plan_tiles(dg.LAYOUT, src, str(lists), '/unused')
    os.remove(lists / 'test.txt')
    with pytest.raises(FileNotFoundError, match='test.txt not found'):
        plan_tiles(dg.LAYOUT, src, str(lists), '/unused')
    assert len(plan_tiles(dg.LAYOUT, src, str(lists), '/unused',
                          ['train'])) == 1


@pytest.fixture
def converted(src, lists, tmp_path):
    out = tmp_path / 'dg'
    before = tree_snapshot(src)
    # default: the two red pixels stop the conversion, nothing of the tile
    # is left behind
    with pytest.raises(ValueError, match='no DeepGlobe class'):
        dg.main([src, '--splits-dir', str(lists), '-o', str(out)])
    assert not any(f for *_, f in os.walk(out))
    counts = dg.convert(src, str(lists), str(out), unmatched='unknown')
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
    return out


def test_converter_outputs(converted, src, lists):
    img = converted / 'img_dir' / 'train' / f'{TILE}_sat.jpg'
    ann = converted / 'ann_dir' / 'train' / f'{TILE}_mask.png'
    with open(img, 'rb') as a, \
            open(osp.join(src, 'train', f'{TILE}_sat.jpg'), 'rb') as b:
        assert a.read() == b.read()
    with Image.open(ann) as im:
        assert im.mode == 'L'
        got = np.asarray(im)
    np.testing.assert_array_equal(
        got,
        dg.load_mask_ids(
            osp.join(src, 'train', f'{TILE}_mask.png'), unmatched='unknown'))
    assert sorted(os.listdir(converted / 'ann_dir' / 'train')) == [ann.name]
    assert os.stat(ann).st_mode & 0o044  # readable by others, not mkstemp's
    # re-run: everything skipped, nothing rewritten
    mtimes = (os.stat(img).st_mtime_ns, os.stat(ann).st_mtime_ns)
    assert dg.convert(
        src, str(lists), str(converted), unmatched='unknown')['skipped'] == 1
    assert (os.stat(img).st_mtime_ns, os.stat(ann).st_mtime_ns) == mtimes


def test_cli_runs_as_script(src, lists, tmp_path):
    out = tmp_path / 'cli'
    proc = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools', 'dataset_converters', 'deepglobe.py'), src,
        '--splits-dir',
        str(lists), '-o',
        str(out), '--unmatched', 'ignore', '--copy'
    ],
                          capture_output=True,
                          text=True,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert '1 tile(s) written' in proc.stdout
    img = out / 'img_dir' / 'train' / f'{TILE}_sat.jpg'
    assert os.stat(img).st_nlink == 1  # --copy: a copy, not a link
    ann = np.asarray(
        Image.open(out / 'ann_dir' / 'train' / f'{TILE}_mask.png'))
    assert (ann == 255).sum() == 2


def test_dataset_with_base_pipeline(converted):
    from mmseg.registry import DATASETS
    cfg = Config.fromfile(BASE_CFG)
    train = cfg.train_dataloader.dataset
    train.data_root = str(converted)
    # the published 2448 resize / 1224 crop, scaled to the 142 px sample
    train.pipeline[2].scale = (256, 256)
    train.pipeline[3].crop_size = (128, 128)
    ds = DATASETS.build(train)
    assert len(ds) == 1 and ds.metainfo['classes'][0] == 'unknown'
    sample = ds[0]
    assert sample['inputs'].shape == (3, 128, 128)
    seg = sample['data_samples'].gt_sem_seg.data
    assert seg.shape == (1, 128, 128)
    assert set(seg.unique().tolist()) <= set(range(7)) | {255}

    test = cfg.test_dataloader.dataset
    test.data_root = str(converted)
    test.data_prefix = dict(
        img_path='img_dir/train', seg_map_path='ann_dir/train')
    test.pipeline[1].scale = (256, 256)
    sample = DATASETS.build(test)[0]
    assert sample['inputs'].shape == (3, 256, 256)
    # ground truth stays at the image's own size for the metric
    seg = sample['data_samples'].gt_sem_seg.data
    assert seg.shape == (1, 142, 142)
    assert set(seg.unique().tolist()) == {0, 2, 3, 4, 5, 6}


def test_dataset_empty_folder_error(tmp_path):
    from mmseg_ext.datasets import DeepGlobeDataset
    (tmp_path / 'img_dir' / 'val').mkdir(parents=True)
    with pytest.raises(
            FileNotFoundError,
            match=r'no \*_sat.jpg image in .*'
            'img_dir/val; convert the download'):
        DeepGlobeDataset(
            data_root=str(tmp_path),
            data_prefix=dict(
                img_path='img_dir/val', seg_map_path='ann_dir/val'))
