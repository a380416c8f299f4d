"""iSAID converter (``tools/dataset_converters/isaid.py``, the library
:mod:`mmseg_ext.datasets.preparation.isaid`) on the real sample.

The golden file holds, for every output the official PFNet preparation
(lxtGH/PFSegNets ``tools/split_iSAID.py --patch_width 896 --patch_height 896
--overlap_area 384`` then ``tools/convert_iSAID_mask2graymask.py``) wrote from
the same sample, its name and the SHA-256 of its decoded pixels.

Regenerate the golden file (:mod:`tools.fidelity.golden.pfnet_isaid_data`)
with::

    PYTHONPATH=/path/to/PFSegNets python -m tools.misc.make_golden \\
        pfnet_isaid_data --out tests/data/pfnet_isaid_data_golden.pth
"""
import hashlib
import os
import os.path as osp
import shutil
import zipfile

import cv2
import numpy as np
import pytest
import torch
from conftest import REPO, tree_snapshot

from mmseg_ext.datasets.preparation import isaid

GOLDEN = osp.join(REPO, 'tests', 'data', 'pfnet_isaid_data_golden.pth')
# the official devkit palette as /work/shared/data/README.md lists it
README_PALETTE = [(0, 0, 0), (0, 0, 63), (0, 63, 63), (0, 63, 0), (0, 63, 127),
                  (0, 63, 191), (0, 63, 255), (0, 127, 63), (0, 127, 127),
                  (0, 0, 127), (0, 0, 191), (0, 0, 255), (0, 191, 127),
                  (0, 127, 191), (0, 127, 255), (0, 100, 155)]
EXPECTED = {
    'train': ['P0005'],  # 977x884: not > 896 on both sides -> kept whole
    'val': [
        'P0003_0_896_0_896', 'P0003_0_896_251_1147', 'P0003_127_1023_0_896',
        'P0003_127_1023_251_1147', 'P0004'
    ],
}


def _sha(array):
    array = np.ascontiguousarray(array)
    return (hashlib.sha256(array.tobytes()).hexdigest() +
            f'|{array.dtype}|{array.shape}')


def _outputs(out):
    return sorted(
        osp.relpath(osp.join(root, name), out)
        for root, _, files in os.walk(out) for name in files)


@pytest.fixture(scope='module')
def src(data_root):
    return osp.realpath(osp.join(data_root, 'isaid'))


@pytest.fixture(scope='module')
def converted(src, tmp_path_factory):
    """The sample converted once through the CLI entry point."""
    out = str(tmp_path_factory.mktemp('isaid_out'))
    before = tree_snapshot(src)
    assert isaid.main([src, '-o', out]) == 0
    return dict(out=out, before=before)


def _read_colour_rgb(path):
    return cv2.imread(path, cv2.IMREAD_COLOR)[..., ::-1]


def test_palette_is_the_official_one():
    assert list(isaid.PALETTE) == README_PALETTE
    assert len(isaid.CLASSES) == 16 and isaid.CLASSES[0] == 'background'


def test_patch_windows_of_the_sample_images():
    # P0003 (val) 1023x1147: x in {0, 512->251}, y in {0, 512->127}; x outer
    assert isaid.patch_windows(1023, 1147) == [(0, 896, 0, 896),
                                               (127, 1023, 0, 896),
                                               (0, 896, 251, 1147),
                                               (127, 1023, 251, 1147)]
    # P0005 (train) 977x884 and P0004 (val) 1464x824: width <= 896
    assert isaid.patch_windows(977, 884) == [(0, 977, 0, 884)]
    assert isaid.patch_windows(1464, 824) == [(0, 1464, 0, 824)]
    assert isaid.patch_windows(896, 2000) == [(0, 896, 0, 2000)]


def test_patch_windows_cover_dedupe_and_reject_gaps():
    h, w = 2000, 1408
    windows = isaid.patch_windows(h, w, 896, 512)
    # x: 0, 512, 1024 -> 512 (a repeat); y: 0, 512, 1024, 1536 -> 1104
    assert [(y1, x1) for y1, _, x1, _ in windows] == [(0, 0), (512, 0),
                                                      (1024, 0), (1104, 0),
                                                      (0, 512), (512, 512),
                                                      (1024, 512), (1104, 512)]
    covered = np.zeros((h, w), bool)
    for y1, y2, x1, x2 in windows:
        assert (y2 - y1, x2 - x1) == (896, 896)
        assert 0 <= y1 and y2 <= h and 0 <= x1 and x2 <= w
        covered[y1:y2, x1:x2] = True
    assert covered.all()
    with pytest.raises(ValueError, match='stride'):
        isaid.patch_windows(h, w, 896, 897)
    with pytest.raises(ValueError, match='stride'):
        isaid.patch_windows(h, w, 896, 0)


def test_outputs_match_the_official_preparation(converted):
    out = converted['out']
    golden = torch.load(GOLDEN, weights_only=True)['converter']
    ours = {}
    for split, stems in EXPECTED.items():
        for stem in stems:
            img = cv2.imread(
                osp.join(out, 'img_dir', split, stem + '.png'),
                cv2.IMREAD_UNCHANGED)
            ann = cv2.imread(
                osp.join(out, 'ann_dir', split,
                         stem + '_instance_color_RGB.png'),
                cv2.IMREAD_UNCHANGED)
            ours[f'{split}/{stem}.png'] = (_sha(img), _sha(ann))
    assert ours == golden
    expected = ['.isaid_converter.json'] + sorted(
        [f'img_dir/{s}/{n}.png' for s, ns in EXPECTED.items() for n in ns] + [
            f'ann_dir/{s}/{n}_instance_color_RGB.png'
            for s, ns in EXPECTED.items() for n in ns
        ])
    assert _outputs(out) == sorted(expected)


def test_ids_are_palette_ids_and_sample_classes(converted):
    out = converted['out']
    present = set()
    for split, stems in EXPECTED.items():
        for stem in stems:
            ann = cv2.imread(
                osp.join(out, 'ann_dir', split,
                         stem + '_instance_color_RGB.png'),
                cv2.IMREAD_UNCHANGED)
            assert ann.ndim == 2 and ann.dtype == np.uint8
            present |= set(np.unique(ann).tolist())
    assert present <= set(range(16))
    assert {isaid.CLASSES[i]
            for i in present} == {
                'background', 'store_tank', 'Large_Vehicle', 'Small_Vehicle'
            }


def test_patch_equals_palette_mapping_of_source_crop(converted, src):
    out = converted['out']
    y1, y2, x1, x2 = 127, 1023, 251, 1147
    rgb = _read_colour_rgb(
        osp.join(src, 'val', 'Semantic_masks', 'images',
                 'P0003_instance_color_RGB.png'))[y1:y2, x1:x2]
    # independent reference: one boolean mask per palette colour
    expected = np.full(rgb.shape[:2], 255, np.uint8)
    for class_id, colour in enumerate(README_PALETTE):
        expected[(rgb == colour).all(-1)] = class_id
    assert (expected != 255).all()
    ann = cv2.imread(
        osp.join(out, 'ann_dir', 'val',
                 'P0003_127_1023_251_1147_instance_color_RGB.png'),
        cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(ann, expected)
    img = cv2.imread(
        osp.join(out, 'img_dir', 'val', 'P0003_127_1023_251_1147.png'))
    source = cv2.imread(osp.join(src, 'val', 'images', 'P0003.png'))
    np.testing.assert_array_equal(img, source[y1:y2, x1:x2])


def test_whole_kept_image_is_copied_byte_for_byte(converted, src):
    with open(osp.join(src, 'train', 'images', 'P0005.png'), 'rb') as f:
        source = f.read()
    with open(
            osp.join(converted['out'], 'img_dir', 'train', 'P0005.png'),
            'rb') as f:
        assert f.read() == source


def test_rerun_skips_finished_outputs(converted, src, capsys):
    out = converted['out']
    before = tree_snapshot(out)
    summary = isaid.convert(src, out)
    assert summary == dict(
        train=dict(images=1, written=0, skipped=2),
        val=dict(images=2, written=0, skipped=10))
    assert tree_snapshot(out) == before  # mtimes included
    # a lost patch is rewritten alone
    lost = osp.join(out, 'ann_dir', 'val',
                    'P0003_0_896_251_1147_instance_color_RGB.png')
    os.remove(lost)
    summary = isaid.convert(src, out, splits=['val'])
    assert summary['val'] == dict(images=2, written=1, skipped=9)
    after = tree_snapshot(out)
    assert after[osp.relpath(lost, out)][2] == before[osp.relpath(lost,
                                                                  out)][2]
    assert {k: v for k, v in after.items() if k != osp.relpath(lost, out)} \
        == {k: v for k, v in before.items() if k != osp.relpath(lost, out)}


def test_source_is_untouched(converted, src):
    assert tree_snapshot(src) == converted['before']


def test_zipped_download_gives_identical_output(converted, src, tmp_path):
    """The download layout: DOTA part*.zip and iSAID Semantic_masks zips."""
    zsrc = tmp_path / 'iSAID'
    for split in ('train', 'val'):
        (zsrc / split / 'images').mkdir(parents=True)
        (zsrc / split / 'Semantic_masks').mkdir(parents=True)
        images = sorted(os.listdir(osp.join(src, split, 'images')))
        # two DOTA parts for val, as the download splits the images
        parts = [images[:1], images[1:]] if len(images) > 1 else [images]
        for i, names in enumerate(parts, 1):
            with zipfile.ZipFile(zsrc / split / 'images' / f'part{i}.zip',
                                 'w') as z:
                for name in names:
                    z.write(
                        osp.join(src, split, 'images', name), f'images/{name}')
        with zipfile.ZipFile(zsrc / split / 'Semantic_masks' / 'images.zip',
                             'w') as z:
            masks = osp.join(src, split, 'Semantic_masks', 'images')
            for name in sorted(os.listdir(masks)):
                z.write(osp.join(masks, name), f'images/{name}')
    zbefore = tree_snapshot(str(zsrc))
    out = tmp_path / 'out'
    summary = isaid.convert(str(zsrc), str(out), nproc=2)
    assert summary['val'] == dict(images=2, written=10, skipped=0)
    assert tree_snapshot(str(zsrc)) == zbefore  # nothing extracted into SRC
    ref = converted['out']
    assert _outputs(str(out)) == _outputs(ref)
    for rel in _outputs(ref):
        with open(osp.join(ref, rel), 'rb') as a, \
                open(osp.join(out, rel), 'rb') as b:
            assert a.read() == b.read(), rel


def _tiny_download(root, mask_rgb):
    """A one-image train split: the real P0005 image and ``mask_rgb``."""
    (root / 'train' / 'images').mkdir(parents=True)
    (root / 'train' / 'Semantic_masks' / 'images').mkdir(parents=True)
    mask = root / 'train' / 'Semantic_masks' / 'images' / \
        'P0005_instance_color_RGB.png'
    cv2.imwrite(str(mask), np.ascontiguousarray(mask_rgb[..., ::-1]))
    return mask


def test_unknown_colour_names_file_and_colour(src, tmp_path):
    rgb = _read_colour_rgb(
        osp.join(src, 'train', 'Semantic_masks', 'images',
                 'P0005_instance_color_RGB.png')).copy()
    rgb[10, 20] = (1, 2, 3)
    rgb[11, 20:22] = (0, 63, 64)
    with pytest.raises(ValueError) as err:
        isaid.rgb_to_ids(rgb, source='some/mask.png')
    msg = str(err.value)
    assert 'some/mask.png' in msg and '(1, 2, 3) x 1 px' in msg
    assert '(0, 63, 64) x 2 px' in msg and '(row 10, col 20)' in msg

    dl = tmp_path / 'dl'
    mask = _tiny_download(dl, rgb)
    shutil.copy(
        osp.join(src, 'train', 'images', 'P0005.png'), dl / 'train' / 'images')
    out = tmp_path / 'out'
    with pytest.raises(ValueError, match=r'\(1, 2, 3\)') as err:
        isaid.convert(str(dl), str(out), splits=['train'])
    assert str(mask) in str(err.value)
    # nothing of that image, and no temporary file, is left behind
    assert [p for p in _outputs(str(out)) if p.endswith(('.png', '.part'))] \
        == []
    assert isaid.main([str(dl), '-o', str(out), '--splits', 'train']) == 1


def test_bad_downloads_are_refused(src, tmp_path, capsys):
    dl = tmp_path / 'dl'
    rgb = np.zeros((8, 8, 3), np.uint8)
    _tiny_download(dl, rgb)
    # an image without its mask, a mask without its image
    cv2.imwrite(str(dl / 'train' / 'images' / 'P0006.png'), rgb)
    with pytest.raises(
            ValueError,
            match=r"without a colour mask.*'P0006'.*"
            r"masks without an image: \['P0005'\]"):
        isaid.find_pairs(str(dl), 'train')
    cv2.imwrite(str(dl / 'train' / 'images' / 'P0005.png'), rgb)
    with pytest.raises(
            ValueError,
            match=r"without a colour mask .*: "
            r"\['P0006'\]; masks without an image: \[\]"):
        isaid.find_pairs(str(dl), 'train')
    # ... unless excluded, as the official P1527/P1530
    assert [
        p.stem for p in isaid.find_pairs(str(dl), 'train', exclude=['P0006'])
    ] == ['P0005']
    with pytest.raises(FileNotFoundError, match='val'):
        isaid.find_pairs(str(dl), 'val')
    # image and mask of different sizes
    cv2.imwrite(
        str(dl / 'train' / 'images' / 'P0005.png'),
        np.zeros((8, 9, 3), np.uint8))
    with pytest.raises(ValueError, match='P0005_instance_color_RGB.png'):
        isaid.convert(
            str(dl), str(tmp_path / 'o1'), splits=['train'], exclude=['P0006'])
    # output inside the download
    with pytest.raises(ValueError, match='never modified'):
        isaid.convert(src, osp.join(src, 'out'))
    assert not osp.exists(osp.join(src, 'out'))
    # other settings into an existing output folder
    cv2.imwrite(str(dl / 'train' / 'images' / 'P0005.png'), rgb)
    out = str(tmp_path / 'o2')
    isaid.convert(str(dl), out, splits=['train'], exclude=['P0006'])
    with pytest.raises(ValueError, match='another output folder'):
        isaid.convert(
            str(dl), out, splits=['train'], exclude=['P0006'], stride=256)


def test_test_split_has_images_only(src, tmp_path):
    (tmp_path / 'dl' / 'test' / 'images').mkdir(parents=True)
    shutil.copy(
        osp.join(src, 'val', 'images', 'P0003.png'),
        tmp_path / 'dl' / 'test' / 'images')
    out = tmp_path / 'out'
    summary = isaid.convert(str(tmp_path / 'dl'), str(out), splits=['test'])
    assert summary['test'] == dict(images=1, written=4, skipped=0)
    assert _outputs(str(out)) == ['.isaid_converter.json'] + [
        f'img_dir/test/P0003_{n}.png'
        for n in ('0_896_0_896', '0_896_251_1147', '127_1023_0_896',
                  '127_1023_251_1147')
    ]
