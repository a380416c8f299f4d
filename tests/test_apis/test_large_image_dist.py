"""Sharded large-image inference: ``torchrun --nproc-per-node 2`` (gloo, CPU)
writes a GeoTIFF byte-identical to one process, also when an interrupted
sharded run is finished with ``--resume``; a resume with other settings or
another number of processes is refused, naming ``state.json``.

A random-init SFNet-R18 (weights saved once, loaded by every process) on a
window of the real Inria sample, 96 px tiles, 5 tile rows: rank 0 writes
rows 0-2, rank 1 rebuilds the carry of row 2 and writes rows 3-4. One
torchrun launch runs every sharded case (``large_image_dist_worker.py``)."""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import rasterio
import torch
from conftest import REPO, clean_env

from mmseg_ext.apis import build_model
from mmseg_ext.apis.large_image import LargeImageInferencer
from mmseg_ext.apis.large_image_cli import num_classes_of, palette_of
from mmseg_ext.apis.large_image_run import segment_raster

SFNET = 'configs/sfnet/sfnet_r18-d32_4xb2-50k_cityscapes-512x1024.py'
WORKER = osp.join(osp.dirname(__file__), 'large_image_dist_worker.py')
pytestmark = pytest.mark.usefixtures('repo_root_one_thread')


def read(path):
    with open(path, 'rb') as f:
        return f.read()


@pytest.fixture(scope='module')
def runs(data_root, tmp_path_factory):
    """The single-process reference, then one torchrun launch of the
    worker; gives the folder, the ranks' reports, the inferencer and the
    image."""
    tmp = tmp_path_factory.mktemp('large_image_dist')
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
    image = str(tmp / 'scene.tif')
    with rasterio.open(image, 'w', **profile) as dst:
        dst.write(pixels)
    ckpt, inferencer = single_process_reference(tmp, image)
    env = clean_env()
    env['PYTHONPATH'] = REPO  # the working tree's package
    proc = subprocess.run([
        sys.executable, '-m', 'torch.distributed.run', '--nproc-per-node', '2',
        '--standalone', WORKER, SFNET, ckpt, image,
        str(tmp)
    ],
                          cwd=REPO,
                          env=env,
                          capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    reports = []
    for rank in range(2):
        with open(tmp / f'rank{rank}.json') as f:
            reports.append(json.load(f))
    return dict(tmp=tmp, reports=reports, inferencer=inferencer, image=image)


def single_process_reference(tmp, image):
    """Save random weights to ``sfnet.pth``; write ``single.tif`` and
    ``single_conf.tif`` with one torch thread (the worker's ``--threads
    1``). Returns the checkpoint and the inferencer."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        model = build_model(osp.join(REPO, SFNET))
        ckpt = str(tmp / 'sfnet.pth')
        torch.save({'state_dict': model.state_dict()}, ckpt)
        # what build_inferencer(config, ckpt) makes, without a 2nd build
        inferencer = LargeImageInferencer(
            model,
            model.cfg,
            num_classes_of(model.cfg),
            tile=(96, 96),
            overlap=40,
            batch_size=2,
            palette=palette_of(model.cfg, model))
        segment_raster(
            inferencer,
            image,
            str(tmp / 'single.tif'),
            confidence_out=str(tmp / 'single_conf.tif'),
            progress=False)
    finally:
        torch.set_num_threads(threads)
    return ckpt, inferencer


@pytest.mark.parametrize('name', ['sharded', 'resumed'])
def test_two_processes_write_the_same_bytes(runs, name):
    tmp = runs['tmp']
    if name == 'sharded':  # tools/large_image_inference.py exited 0
        assert [r['sharded'] for r in runs['reports']] == [0, 0]
    else:  # both ranks were interrupted, then resumed after their rows
        assert all(r['interrupted'] for r in runs['reports'])
        # rank 0: rows 1-2 (row 0 was written), rank 1: row 4 (row 3
        # was written; no rebuild of row 2): 3 tiles a row
        assert [r['resumed_tiles'] for r in runs['reports']] == [6, 3]
    for suffix in ('.tif', '_conf.tif'):
        assert read(tmp / f'{name}{suffix}') == read(tmp / f'single{suffix}')
    assert not osp.exists(tmp / f'{name}.tif.partial')
    with rasterio.open(tmp / f'{name}_conf.tif') as dst:
        assert np.ptp(dst.read(1)) > 1e-4  # the logits are not constant


def test_resume_with_other_settings_is_refused_on_every_rank(runs):
    errors = [r['other_overlap'] for r in runs['reports']]
    assert errors[0] == errors[1]
    state = osp.join(runs['tmp'], 'resumed.tif.partial', 'state.json')
    assert errors[0].startswith(f'--resume: {state} belongs to another run '
                                '(overlap [40, 40] there, [32, 32] now)')


def test_resume_with_another_number_of_processes_is_refused(runs):
    tmp = runs['tmp']
    out = str(tmp / 'two_partial.tif')
    work = out + '.partial'
    assert all(r['two_partial'] for r in runs['reports'])
    before = sorted(os.listdir(work))
    with pytest.raises(ValueError) as err:
        segment_raster(
            runs['inferencer'],
            runs['image'],
            out,
            confidence_out=str(tmp / 'two_partial_conf.tif'),
            resume=True,
            progress=False)
    assert str(err.value) == (
        f'--resume: {work}/state.json was written by a run of 2 processes, '
        'this run has 1 process: the tile rows are split by process, so '
        'resume it under torchrun --nproc-per-node 2, or remove '
        f'{work} (or run without --resume) to start over')
    assert sorted(os.listdir(work)) == before  # left as it was
    assert not osp.exists(out)
