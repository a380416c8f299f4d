"""The large-image inferencer equals mmseg 1.2.2's ``slide_inference``.

Random-init models built from the shipped PFNet (iSAID), SFNet and ISDNet
(Inria) configs, with small tiles so the tests are cheap; the images are
windows of the real iSAID and Inria samples written to temporary rasters
(odd sizes, a side smaller than the tile, a whole image smaller than one
tile). The inferencer's blended logits are assembled from its row blocks
and compared with ``EncoderDecoder.slide_inference`` (``whole_inference``
for ISDNet's ``whole`` mode) on the same normalised image: max abs diff <=
1e-5 and identical argmax.
"""
import os.path as osp

import cv2
import numpy as np
import pytest
import rasterio
import torch
from mmengine.config import ConfigDict

from mmseg_ext.apis import build_model
from mmseg_ext.apis.large_image import LargeImageInferencer
from mmseg_ext.apis.large_image_blend import RowBlender
from mmseg_ext.apis.large_image_io import SourceRaster
from mmseg_ext.apis.tiling import axis_windows

PFNET = 'configs/pfnet/pfnet_r50-d32_8xb2-34k_isaid-896x896.py'
SFNET = 'configs/sfnet/sfnet_r18-d32_4xb2-50k_cityscapes-512x1024.py'
ISDNET = 'configs/isdnet/isdnet_r18-d8_4xb1-40k_inria-2000x2000.py'
pytestmark = pytest.mark.usefixtures('repo_root_one_thread')


def write_window(path, source, y0, x0, h, w):
    """A ``h`` x ``w`` window of a real sample as a GeoTIFF (the source's
    georeferencing shifted to the window, if it has one)."""
    with rasterio.open(source) as src:
        window = rasterio.windows.Window(x0, y0, w, h)
        pixels = src.read((1, 2, 3), window=window)
        transform = src.window_transform(window)
        crs = src.crs
    with rasterio.open(
            path,
            'w',
            driver='GTiff',
            height=h,
            width=w,
            count=3,
            dtype='uint8',
            crs=crs,
            transform=transform) as dst:
        dst.write(pixels)
    return str(path)


def blended(inferencer, path):
    """The inferencer's blended logits of the whole raster: (C, H, W)."""
    with SourceRaster(path) as source:
        h, w = source.height, source.width
        rows, cols = inferencer.grid(h, w)
        out = np.full((inferencer.num_classes, h, w), np.nan, np.float32)
        blender = RowBlender(rows, cols, inferencer.num_classes,
                             inferencer.blend, osp.dirname(path), w)
        for row in range(len(rows)):
            for y0, y1, x0, x1, values in inferencer.blocks(
                    source, blender, row):
                assert np.isnan(out[:, y0:y1, x0:x1]).all()  # each once
                out[:, y0:y1, x0:x1] = values
        image = inferencer.normalise(source.read(0, h, 0, w))
    assert not np.isnan(out).any()
    return out, torch.from_numpy(image)[None]


def mmseg_slide(model, image, tile, stride):
    h, w = image.shape[2:]
    model.test_cfg = ConfigDict(mode='slide', crop_size=tile, stride=stride)
    metas = [dict(ori_shape=(h, w), img_shape=(h, w), pad_shape=(h, w))]
    with torch.no_grad():
        return model.slide_inference(image, metas)[0].numpy()


def assert_equal_logits(ours, ref):
    assert ours.shape == ref.shape
    diff = float(np.abs(ours - ref).max())
    print(f'max abs diff {diff:.2e}')
    assert diff <= 1e-5
    assert (ours.argmax(0) == ref.argmax(0)).all()


@pytest.fixture(scope='module')
def models():
    torch.manual_seed(0)
    return {c: build_model(c) for c in (PFNET, SFNET, ISDNET)}


@pytest.fixture(scope='module')
def samples(data_root, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('large_image_exact')
    isaid = osp.join(data_root, 'isaid', 'train', 'images', 'P0005.png')
    inria = osp.join(data_root, 'inria', 'train', 'images',
                     'aerial_sample.tif')
    return dict(
        isaid_odd=write_window(tmp / 'isaid.tif', isaid, 301, 203, 163, 211),
        inria_odd=write_window(tmp / 'inria.tif', inria, 411, 97, 259, 197),
        inria_small=write_window(tmp / 'small.tif', inria, 5, 7, 83, 101),
        inria_isd=write_window(tmp / 'isd.tif', inria, 100, 300, 256, 320))


@pytest.mark.parametrize(
    'config, sample, tile, overlap, batch',
    [
        # 2 x 3 tiles of 96 px on an odd-sized iSAID window
        (PFNET, 'isaid_odd', (96, 96), (32, 32), 3),
        # 259 x 197 Inria: 2 tile rows x 1 tile column that is wider than
        # the image (edge tiles smaller than the crop along x)
        (SFNET, 'inria_odd', (160, 224), (48, 64), 2),
        # an image smaller than one tile
        (SFNET, 'inria_small', (128, 128), (32, 32), 1),
        (ISDNET, 'inria_isd', (128, 128), (32, 32), 4),
    ])
def test_uniform_blend_equals_mmseg_slide_inference(models, samples, config,
                                                    sample, tile, overlap,
                                                    batch):
    model = models[config]
    inferencer = LargeImageInferencer(
        model,
        model.cfg,
        model.decode_head.num_classes,
        tile=tile,
        overlap=overlap,
        batch_size=batch)
    ours, image = blended(inferencer, samples[sample])
    stride = tuple(t - o for t, o in zip(tile, overlap))
    assert_equal_logits(ours, mmseg_slide(model, image, tile, stride))


def test_isdnet_whole_mode_equals_whole_inference(models, samples):
    model = models[ISDNET]
    inferencer = LargeImageInferencer(model, model.cfg, 2, mode='whole')
    ours, image = blended(inferencer, samples['inria_isd'])
    h, w = image.shape[2:]
    metas = [dict(ori_shape=(h, w), img_shape=(h, w), pad_shape=(h, w))]
    with torch.no_grad():
        ref = model.whole_inference(image, metas)[0].numpy()
    assert_equal_logits(ours, ref)


def test_normalisation_matches_mmseg_preprocessor(models, data_root):
    """rasterio's RGB bands normalised by the inferencer = mmseg's
    ``LoadImageFromFile`` (cv2, BGR) through the config's
    ``SegDataPreProcessor`` (bgr_to_rgb, mean, std)."""
    model = models[PFNET]
    png = osp.join(data_root, 'isaid', 'train', 'images', 'P0005.png')
    inferencer = LargeImageInferencer(
        model, model.cfg, 16, tile=(64, 64), overlap=16)
    with SourceRaster(png) as source:
        ours = inferencer.normalise(source.read(0, 64, 0, 80))
    bgr = cv2.imread(png)[:64, :80]
    ref = model.data_preprocessor(
        dict(inputs=[torch.from_numpy(bgr).permute(2, 0, 1)]),
        False)['inputs'][0].numpy()
    np.testing.assert_array_equal(ours, ref)


@pytest.mark.parametrize('size, crop, stride', [(1000, 256, 192),
                                                (977, 896, 597),
                                                (100, 128, 96),
                                                (2100, 1024, 768)])
def test_window_placement_is_mmsegs(size, crop, stride):
    spans = axis_windows(size, crop, stride)
    grids = max(size - crop + stride - 1, 0) // stride + 1
    assert len(spans) == grids
    assert spans[-1][1] == size and spans[0][0] == 0
    assert all(e - s == min(crop, size) for s, e in spans)


class _ConvBackend:
    """A stand-in exported model: a fixed random 3x3 conv (zero padding, so
    a tile's border logits differ from its neighbour's interior ones)."""

    def __init__(self, classes=5):
        gen = torch.Generator().manual_seed(0)
        self.weight = torch.randn(classes, 3, 3, 3, generator=gen)

    def __call__(self, x):
        return torch.nn.functional.conv2d(x, self.weight, padding=1)


@pytest.mark.parametrize('blend', ['uniform', 'distance'])
@pytest.mark.parametrize('tile, overlap, batch', [((64, 80), (48, 24), 3),
                                                  ((30, 40), (10, 10), 2)])
def test_blend_equals_brute_force(samples, blend, tile, overlap, batch):
    """Every pixel = sum of w * tile logits / sum of w over the tiles
    covering it, also where three tile rows overlap (overlap > tile / 2)."""
    backend = _ConvBackend()
    cfg = ConfigDict(
        model=dict(
            data_preprocessor=dict(
                mean=[100., 110., 120.], std=[50., 55., 60.],
                bgr_to_rgb=True)))
    inferencer = LargeImageInferencer(
        backend,
        cfg,
        5,
        tile=tile,
        overlap=overlap,
        batch_size=batch,
        blend=blend)
    ours, image = blended(inferencer, samples['inria_small'])
    h, w = image.shape[2:]
    total = np.zeros((5, h, w), np.float64)
    weight = np.zeros((h, w), np.float64)
    rows, cols = inferencer.grid(h, w)
    for y0, y1 in rows:
        for x0, x1 in cols:
            logits = backend(image[:, :, y0:y1, x0:x1])[0].numpy()
            wy, wx = np.ones(y1 - y0), np.ones(x1 - x0)
            if blend == 'distance':
                wy = np.minimum(
                    np.arange(y1 - y0), y1 - y0 - 1 - np.arange(y1 - y0)) + 1.
                wx = np.minimum(
                    np.arange(x1 - x0), x1 - x0 - 1 - np.arange(x1 - x0)) + 1.
            total[:, y0:y1, x0:x1] += logits * np.outer(wy, wx)
            weight[y0:y1, x0:x1] += np.outer(wy, wx)
    assert len(rows) >= 3
    np.testing.assert_allclose(ours, total / weight, rtol=0, atol=1e-4)
