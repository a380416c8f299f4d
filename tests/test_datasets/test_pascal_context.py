"""PASCAL-Context: our converter and mmseg's datasets through our configs.

There is no PASCAL-Context ground truth in the sample data. The tests use the
three real PASCAL VOC 2012 val images of ``<data_root>/voc`` and their real
VOC object masks (aeroplane, bird, sheep), written the way PASCAL-in-Detail's
``trainval_merged.json`` stores labels (one COCO-RLE ``annos_segmentation``
entry per class, ``category_id`` in the 459-label PASCAL-Context list), with
every other pixel left unlabelled (0): the context classes (sky, grass, ...)
are simply absent, not guessed. From there on the path is the user's: the
converter writes ``SegmentationClassContext`` PNGs and split lists into a
``VOCdevkit/VOC2010`` tree, and mmseg's ``PascalContextDataset`` (60 classes)
and ``PascalContextDataset59`` load them with the pipelines of our PSPNet
Pascal Context configs.
"""
import json
import os
import os.path as osp

import numpy as np
import pytest
from conftest import REPO
from mmengine.config import Config
from mmseg.datasets import PascalContextDataset, PascalContextDataset59
from mmseg.registry import DATASETS, MODELS
from PIL import Image

from mmseg_ext.datasets.preparation import pascal_context as pc

CFG59 = osp.join(REPO, 'configs', 'pspnet',
                 'pspnet_r101-d8-mg124_4xb4-25k_pascal-context-59-480x480.py')
CFG60 = osp.join(REPO, 'configs', 'pspnet',
                 'pspnet_r101-d8-mg124_4xb4-25k_pascal-context-480x480.py')
# PASCAL VOC colour map -> class name (VOC's 20 object classes)
VOC_COLOURS = {
    (128, 0, 0): 'aeroplane',
    (0, 128, 0): 'bicycle',
    (128, 128, 0): 'bird',
    (0, 0, 128): 'boat',
    (128, 0, 128): 'bottle',
    (0, 128, 128): 'bus',
    (128, 128, 128): 'car',
    (64, 0, 0): 'cat',
    (192, 0, 0): 'chair',
    (64, 128, 0): 'cow',
    (192, 128, 0): 'diningtable',
    (64, 0, 128): 'dog',
    (192, 0, 128): 'horse',
    (64, 128, 128): 'motorbike',
    (192, 128, 128): 'person',
    (0, 64, 0): 'pottedplant',
    (128, 64, 0): 'sheep',
    (0, 192, 0): 'sofa',
    (128, 192, 0): 'train',
    (0, 64, 128): 'tvmonitor'
}
VOC_TO_CONTEXT = {'diningtable': 'table'}  # the other 19 names are shared
CONTEXT_ID = {name: i for i, name in pc.CONTEXT59}
SAMPLES = {
    '1': ('2008_000001', 'train'),
    '23': ('2008_000023', 'train'),
    '114': ('2010_000114', 'val')
}


def voc_class_masks(target_png):
    """{VOC class name: bool mask} of a VOC colour-coded target."""
    rgb = np.array(Image.open(target_png).convert('RGB'))
    masks = {}
    for colour, name in VOC_COLOURS.items():
        m = (rgb == colour).all(-1)
        if m.any():
            masks[name] = m
    return masks


@pytest.fixture(scope='module')
def devkit(tmp_path_factory, data_root):
    """VOCdevkit/VOC2010 with JPEGImages and a trainval_merged.json."""
    root = tmp_path_factory.mktemp('pc') / 'VOCdevkit'
    img_dir = root / 'VOC2010' / 'JPEGImages'
    img_dir.mkdir(parents=True)
    images, annos, expected = [], [], {}
    for n, (stem, phase) in SAMPLES.items():
        rgb = Image.open(osp.join(data_root, 'voc', f'{n}_image.png'))
        rgb.convert('RGB').save(img_dir / f'{stem}.jpg', quality=95)
        image_id = int(stem.replace('_', ''))
        w, h = rgb.size
        images.append(
            dict(
                image_id=image_id,
                file_name=f'{stem}.jpg',
                height=h,
                width=w,
                phase=phase))
        label = np.zeros((h, w), np.uint8)
        for name, m in voc_class_masks(
                osp.join(data_root, 'voc', f'{n}_target.png')).items():
            cid = CONTEXT_ID[VOC_TO_CONTEXT.get(name, name)]
            annos.append(
                dict(
                    id=len(annos) + 1,
                    image_id=image_id,
                    category_id=cid,
                    segmentation=pc.rle_encode(m)))
            label[m] = 1 + PascalContextDataset59.METAINFO['classes'].index(
                VOC_TO_CONTEXT.get(name, name))
        expected[stem] = label
    json_path = root / 'VOC2010' / 'trainval_merged.json'
    json_path.write_text(
        json.dumps(
            dict(
                images=images,
                annos_segmentation=annos,
                categories=[
                    dict(category_id=i, name=s) for i, s in pc.CONTEXT59
                ])))
    return root, json_path, expected


@pytest.fixture(scope='module')
def converted(devkit):
    root, json_path, expected = devkit
    pc.main([str(root), str(json_path)])
    return root / 'VOC2010', expected


def test_context59_table_matches_mmseg_class_order():
    names = [name for _, name in pc.CONTEXT59]
    assert tuple(names) == PascalContextDataset59.METAINFO['classes']
    assert tuple(['background'] + names) == \
        PascalContextDataset.METAINFO['classes']
    ids = [i for i, _ in pc.CONTEXT59]
    assert ids == sorted(ids) and len(set(ids)) == 59


def test_rle_strings_hand_checked():
    # column-major [1, 1, 0] -> runs [0, 2, 1] -> '0', '2', '1'
    assert pc.rle_encode(np.array([[1], [1], [0]])) == dict(
        size=[3, 1], counts='021')
    # 40 = 8 + 1 * 32: '8|0x20' then '1' -> 'X1'; the 4th count is stored as
    # 1 - 40 = -39 = 25 + (-2) * 32 -> (25|0x20)='i', then 30 (sign bit) 'N'
    assert pc.rle_counts_to_string([5, 40, 3, 1]) == '5X13iN'
    assert pc.rle_counts_from_string('5X13iN') == [5, 40, 3, 1]
    mask = pc.rle_decode(dict(size=[7, 7], counts='5X13iN'))
    assert mask.sum() == 41
    assert mask.ravel(order='F')[5:45].all() and mask.ravel(order='F')[48]


def test_rle_round_trip_random_masks():
    rng = np.random.default_rng(0)
    for shape in [(1, 1), (5, 3), (40, 61)]:
        for p in (0.0, 0.1, 0.5, 1.0):
            m = rng.random(shape) < p
            assert np.array_equal(pc.rle_decode(pc.rle_encode(m)), m)
    with pytest.raises(ValueError, match='not 2x2'):
        pc.rle_decode(dict(size=[2, 2], counts=[1, 2]))


def test_later_annotations_overwrite_earlier_ones():
    img = dict(file_name='x.jpg', height=2, width=3)
    a = np.array([[1, 1, 0], [0, 0, 0]], bool)
    b = np.array([[0, 1, 1], [0, 0, 0]], bool)
    anns = [
        dict(category_id=2, segmentation=pc.rle_encode(a)),
        dict(category_id=25, segmentation=pc.rle_encode(b))
    ]
    ids = pc.class_id_mask(img, anns)
    assert ids.tolist() == [[2, 25, 25], [0, 0, 0]]
    assert pc.to_context_labels(ids).tolist() == [[1, 7, 7], [0, 0, 0]]


def test_converter_writes_labels_and_splits(converted):
    voc, expected = converted
    split_dir = voc / 'ImageSets' / 'SegmentationContext'
    assert (split_dir /
            'train.txt').read_text().split() == ['2008_000001', '2008_000023']
    assert (split_dir / 'val.txt').read_text().split() == ['2010_000114']
    for stem, label in expected.items():
        png = Image.open(voc / 'SegmentationClassContext' / f'{stem}.png')
        assert png.mode == 'L'
        assert np.array_equal(np.array(png), label)
        assert set(np.unique(label)) > {0}  # a real object class is there
    # no temporary file left (atomic_io's .<name>.*.part, formerly
    # <name>.partial.png)
    assert not [
        f for f in os.listdir(voc / 'SegmentationClassContext')
        if 'partial' in f or f.endswith('.part')
    ]
    assert not [
        f
        for f in os.listdir(split_dir) if 'partial' in f or f.endswith('.part')
    ]


def test_converter_resumes_without_rewriting(devkit, converted):
    root, json_path, _ = devkit
    voc, _ = converted
    png = voc / 'SegmentationClassContext' / '2008_000001.png'
    before = png.stat().st_mtime_ns
    pc.main([str(root), str(json_path)])
    assert png.stat().st_mtime_ns == before


def test_converter_rejects_ids_outside_the_59(tmp_path):
    img = dict(
        image_id=1,
        file_name='2008_000099.jpg',
        height=2,
        width=2,
        phase='train')
    ann = dict(
        id=1,
        image_id=1,
        category_id=1,  # 'accordion': not kept
        segmentation=pc.rle_encode(np.ones((2, 2), bool)))
    path = tmp_path / 'bad.json'
    path.write_text(json.dumps(dict(images=[img], annos_segmentation=[ann])))
    with pytest.raises(
            ValueError, match=r'2008_000099.jpg: category ids \[1\]'):
        pc.convert(str(tmp_path), str(path))
    assert not os.listdir(tmp_path / 'VOC2010' / 'SegmentationClassContext')
    path.write_text(json.dumps(dict(images=[img])))
    with pytest.raises(KeyError, match="bad.json: missing key 'annos_segm"):
        pc.convert(str(tmp_path), str(path))


@pytest.mark.parametrize('cfg_path,dataset_cls',
                         [(CFG59, PascalContextDataset59),
                          (CFG60, PascalContextDataset)])
def test_mmseg_datasets_load_through_config_pipelines(converted, cfg_path,
                                                      dataset_cls):
    voc, expected = converted
    cfg = Config.fromfile(cfg_path)
    val = cfg.val_dataloader.dataset
    val.data_root = str(voc)
    dataset = DATASETS.build(val)
    # mmseg's class with mmseg_ext's sample checks (datasets/checked.py)
    assert isinstance(dataset, dataset_cls)
    assert type(dataset).__name__ == 'Checked' + dataset_cls.__name__
    assert len(dataset) == 1
    sample = dataset[0]
    gt = sample['data_samples'].gt_sem_seg.data[0].numpy()
    label = expected['2010_000114']
    if dataset_cls is PascalContextDataset59:
        # reduce_zero_label: background 0 -> 255 (ignored), k -> k - 1
        want = np.where(label == 0, 255, label.astype(np.int64) - 1)
    else:
        want = label
    assert np.array_equal(gt, want)
    # the image is resized to the 520 scale (long side), the GT is not
    assert max(sample['inputs'].shape[1:]) == 520

    train = cfg.train_dataloader.dataset
    train.data_root = str(voc)
    dataset = DATASETS.build(train)
    assert len(dataset) == 2
    sample = dataset[0]
    # RandomResize 0.5-2.0 of 520 can leave the image below the crop: the
    # pipeline crops to at most 480x480, the data preprocessor pads to it
    h, w = sample['inputs'].shape[1:]
    assert h <= 480 and w <= 480
    assert tuple(sample['data_samples'].gt_sem_seg.shape) == (h, w)
    prep = MODELS.build(cfg.model.data_preprocessor)
    batch = prep(
        dict(inputs=[sample['inputs']], data_samples=[sample['data_samples']]),
        training=True)
    assert tuple(batch['inputs'].shape) == (1, 3, 480, 480)
    padded = batch['data_samples'][0].gt_sem_seg.data[0].numpy()
    assert (padded[h:] == 255).all() and (padded[:, w:] == 255).all()
    gt = padded[:h, :w]
    labels = np.unique(expected['2008_000001'])  # first line of train.txt
    if dataset_cls is PascalContextDataset59:
        allowed = {int(v) - 1 for v in labels if v} | {255}
    else:
        allowed = {int(v) for v in labels} | {255}
    assert set(np.unique(gt).tolist()) <= allowed
