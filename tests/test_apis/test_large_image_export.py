"""The large-image inferencer on an export folder: ONNX Runtime and
OpenVINO (CPU, fp32) give eager PyTorch's blended logits; a static export
refuses another tile; an export of another model is refused (identity).

A random-init SFNet-R18 exported once, static 96 x 96, batch 2, on a
160 x 200 window of the real Inria sample: 2 tile rows (a carry between
them) of 3 tiles, the last one shifted to end at the border and run alone
in a batch padded to the export's 2."""
import os.path as osp

import numpy as np
import pytest
import rasterio
import torch
from conftest import needs_onnx_export

from mmseg_ext.apis import build_model, load_config
from mmseg_ext.apis.large_image import LargeImageInferencer
from mmseg_ext.apis.large_image_blend import RowBlender
from mmseg_ext.apis.large_image_cli import build_inferencer
from mmseg_ext.apis.large_image_io import SourceRaster
from mmseg_ext.deploy.export import export_onnx
from mmseg_ext.deploy.identity import model_config_sha256

SFNET = 'configs/sfnet/sfnet_r18-d32_4xb2-50k_cityscapes-512x1024.py'
PFNET = 'configs/pfnet/pfnet_r50-d32_8xb2-34k_isaid-896x896.py'
pytestmark = [
    needs_onnx_export,
    pytest.mark.usefixtures('repo_root_one_thread')
]


def blended(inferencer, path):
    """The inferencer's blended logits of the whole raster: (C, H, W)."""
    with SourceRaster(path) as source:
        rows, cols = inferencer.grid(source.height, source.width)
        out = np.zeros((19, source.height, source.width), np.float32)
        blender = RowBlender(rows, cols, 19, 'uniform', osp.dirname(path),
                             source.width)
        for row in range(len(rows)):
            for y0, y1, x0, x1, values in inferencer.blocks(
                    source, blender, row):
                out[:, y0:y1, x0:x1] = values
    return out


@pytest.fixture(scope='module')
def exported(data_root, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('large_image_export')
    source = osp.join(data_root, 'inria', 'train', 'images',
                      'aerial_sample.tif')
    window = rasterio.windows.Window(600, 100, 200, 160)
    with rasterio.open(source) as src:
        pixels = src.read(window=window)
    image = str(tmp / 'scene.tif')
    with rasterio.open(
            image,
            'w',
            driver='GTiff',
            height=160,
            width=200,
            count=3,
            dtype='uint8') as dst:
        dst.write(pixels)
    # one torch thread, as conftest.one_thread (module fixtures run before
    # it): multi-threaded forwards crawl on a busy 2-core box
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        model = build_model(SFNET)
        ckpt = str(tmp / 'sfnet.pth')
        torch.save({'state_dict': model.state_dict()}, ckpt)
        work = str(tmp / 'export')
        export_onnx(
            SFNET,
            ckpt,
            work, (96, 96),
            False,
            batch_size=2,
            model=model,
            deploy_info=dict(
                backend='onnxruntime',
                precision='fp32',
                model_file='end2end.onnx',
                model_config=SFNET,
                model_config_sha256=model_config_sha256(
                    load_config(SFNET).model)))
        eager = LargeImageInferencer(
            model, model.cfg, 19, tile=(96, 96), overlap=32, batch_size=2)
        reference = blended(eager, image)
    finally:
        torch.set_num_threads(threads)
    return work, image, reference


@pytest.mark.parametrize('backend', ['onnxruntime', 'openvino'])
def test_runtime_gives_eager_logits(exported, backend):
    work, image, reference = exported
    # one runtime thread: spinning thread pools crawl on a busy 2-core box
    inferencer = build_inferencer(
        SFNET, work, backend=backend, num_threads=1, overlap=32, batch_size=2)
    assert inferencer.tile == (96, 96)  # the static export's
    rows, cols = inferencer.grid(160, 200)
    assert (len(rows), len(cols)) == (2, 3)  # a padded batch in each row
    logits = blended(inferencer, image)
    assert np.abs(logits - reference).max() <= 1e-4
    agree = (logits.argmax(0) == reference.argmax(0)).mean()
    assert agree >= 0.999


def test_static_export_refuses_another_tile(exported):
    with pytest.raises(
            ValueError,
            match=r'tile \(128, 128\) \(h, w\) does '
            r'not fit the static export, which accepts \(96, '
            r'96\) only'):
        build_inferencer(SFNET, exported[0], tile=(128, 128), overlap=32)


def test_export_of_another_model_is_refused(exported):
    with pytest.raises(ValueError, match='describe different models'):
        build_inferencer(PFNET, exported[0], overlap=32)
