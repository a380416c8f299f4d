"""Sharded large-image inference: ``torchrun --nproc-per-node 2`` (gloo, CPU)
writes a GeoTIFF byte-identical to one process.

A random-init SFNet-R18 (weights saved once, loaded by every process) on a
window of the real Inria sample, 96 px tiles, 5 tile rows: rank 0 writes
rows 0-2, rank 1 rebuilds the carry of row 2 and writes rows 3-4."""
import os.path as osp
import sys

import numpy as np
import pytest
import rasterio
import torch

from mmseg_ext.apis import build_model
from mmseg_ext.apis.large_image_cli import main

SFNET = 'configs/sfnet/sfnet_r18-d32_4xb2-50k_cityscapes-512x1024.py'
pytestmark = pytest.mark.usefixtures('repo_root_one_thread')


def test_two_processes_write_the_same_bytes(data_root, tmp_path):
    from conftest import run_command
    source = osp.join(data_root, 'inria', 'train', 'images',
                      'aerial_sample.tif')
    window = rasterio.windows.Window(200, 400, 180, 300)
    with rasterio.open(source) as src:
        profile = dict(
            driver='GTiff',
            height=300,
            width=180,
            count=3,
            dtype='uint8',
            crs=src.crs,
            transform=src.window_transform(window))
        pixels = src.read(window=window)
    image = str(tmp_path / 'scene.tif')
    with rasterio.open(image, 'w', **profile) as dst:
        dst.write(pixels)
    torch.manual_seed(0)
    ckpt = str(tmp_path / 'sfnet.pth')
    torch.save({'state_dict': build_model(SFNET).state_dict()}, ckpt)
    opts = [
        '--tile', '96', '--overlap', '40', '--batch-size', '2', '--threads',
        '1', '--no-progress'
    ]
    single = str(tmp_path / 'single.tif')
    assert main([
        SFNET, ckpt, image, '--out', single, '--confidence',
        str(tmp_path / 'single_conf.tif')
    ] + opts) == 0
    sharded = str(tmp_path / 'sharded.tif')
    run_command([
        sys.executable, '-m', 'torch.distributed.run', '--nproc-per-node', '2',
        '--standalone', 'tools/large_image_inference.py', SFNET, ckpt, image,
        '--out', sharded, '--confidence',
        str(tmp_path / 'sharded_conf.tif')
    ] + opts)
    for one, two in [(single, sharded),
                     (tmp_path / 'single_conf.tif',
                      tmp_path / 'sharded_conf.tif')]:
        with open(one, 'rb') as a, open(two, 'rb') as b:
            assert a.read() == b.read()
    with rasterio.open(tmp_path / 'sharded_conf.tif') as dst:
        assert np.ptp(dst.read(1)) > 1e-4  # the logits are not constant
    assert not osp.exists(sharded + '.partial')
