"""``tools/large_image_inference.py`` and :func:`segment_raster`: the
GeoTIFF it writes, safe outputs (write-then-rename, --overwrite, a full
disk), --resume, and bad input (each a clear error naming the file).

A random-init SFNet-R18 (shipped config) with 96 px tiles on a 200 x 230
window of the real Inria GeoTIFF sample (12 tiles)."""
import errno
import hashlib
import os
import os.path as osp

import numpy as np
import pytest
import rasterio
import torch

from mmseg_ext.apis import large_image_io
from mmseg_ext.apis.large_image import LargeImageInferencer
from mmseg_ext.apis.large_image_cli import build_inferencer, main, rank_device
from mmseg_ext.apis.large_image_run import segment_raster

SFNET = 'configs/sfnet/sfnet_r18-d32_4xb2-50k_cityscapes-512x1024.py'
OPTS = ['--tile', '96', '--overlap', '32', '--no-progress']
pytestmark = pytest.mark.usefixtures('repo_root_one_thread')


def sha256(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def write_raster(path, pixels, **kwargs):
    profile = dict(
        driver='GTiff',
        height=pixels.shape[1],
        width=pixels.shape[2],
        count=pixels.shape[0],
        dtype=pixels.dtype)
    profile.update(kwargs)
    with rasterio.open(path, 'w', **profile) as dst:
        dst.write(pixels)
    return str(path)


@pytest.fixture(scope='module')
def scene(data_root, tmp_path_factory):
    """A 200 x 230 window of the Inria sample with its georeferencing."""
    source = osp.join(data_root, 'inria', 'train', 'images',
                      'aerial_sample.tif')
    window = rasterio.windows.Window(500, 300, 230, 200)
    with rasterio.open(source) as src:
        pixels = src.read(window=window)
        geo = dict(crs=src.crs, transform=src.window_transform(window))
    path = write_raster(
        tmp_path_factory.mktemp('scene') / 'scene.tif', pixels, **geo)
    return dict(path=path, pixels=pixels, **geo)


@pytest.fixture(scope='module')
def inferencer():
    torch.manual_seed(0)
    return build_inferencer(
        SFNET, 'none', tile=(96, 96), overlap=32, batch_size=2)


@pytest.fixture(scope='module')
def reference(inferencer, scene, tmp_path_factory):
    """One complete run: (classes, confidence) arrays."""
    out = str(tmp_path_factory.mktemp('ref') / 'ref.tif')
    conf = out.replace('ref.tif', 'conf.tif')
    segment_raster(
        inferencer, scene['path'], out, confidence_out=conf, progress=False)
    with rasterio.open(out) as a, rasterio.open(conf) as b:
        return a.read(1), b.read(1), out


def test_class_geotiff_confidence_and_overlay(inferencer, scene, reference,
                                              tmp_path):
    classes, confidence, out = reference
    with rasterio.open(out) as dst:
        assert (dst.count, dst.dtypes[0]) == (1, 'uint8')
        assert dst.crs == scene['crs']
        assert dst.transform == scene['transform']
        assert dst.nodata is None  # the source has none
        cmap = dst.colormap(1)
    palette = inferencer.palette
    assert len(palette) == 19
    assert all(cmap[i] == (*palette[i], 255) for i in range(19))
    # classes = argmax of the blended logits, confidence = its softmax
    logits = torch.from_numpy(_slide_logits(inferencer, scene))
    np.testing.assert_array_equal(classes, logits.argmax(0).numpy())
    np.testing.assert_allclose(
        confidence, logits.softmax(0).max(0).values.numpy(), atol=1e-6)
    assert np.ptp(confidence) > 1e-4  # not a constant map
    overlay = str(tmp_path / 'overlay.tif')
    segment_raster(
        inferencer,
        scene['path'],
        str(tmp_path / 'c.tif'),
        overlay_out=overlay,
        progress=False)
    with rasterio.open(overlay) as dst:
        painted = dst.read()
    colours = np.asarray(palette, np.float32)[classes].transpose(2, 0, 1)
    expected = np.rint(scene['pixels'] * 0.5 + colours * 0.5)
    np.testing.assert_array_equal(painted, expected.astype(np.uint8))
    assert sorted(os.listdir(tmp_path)) == ['c.tif', 'overlay.tif']


def _slide_logits(inferencer, scene):
    from mmengine.config import ConfigDict
    model = inferencer.model
    model.test_cfg = ConfigDict(
        mode='slide', crop_size=inferencer.tile, stride=inferencer.stride)
    image = torch.from_numpy(inferencer.normalise(scene['pixels']))[None]
    h, w = image.shape[2:]
    metas = [dict(ori_shape=(h, w), img_shape=(h, w), pad_shape=(h, w))]
    with torch.no_grad():
        return model.slide_inference(image, metas)[0].numpy()


def test_nodata_and_band_choice(inferencer, scene, reference, tmp_path):
    """A 4-band source with nodata: --bands picks RGB; nodata pixels are 255
    and the output declares nodata 255. The source is never modified."""
    pixels = np.concatenate([scene['pixels'], scene['pixels'][:1]])
    pixels[:, :20, :30] = 0
    src = write_raster(
        tmp_path / 'four.tif',
        pixels,
        nodata=0,
        crs=scene['crs'],
        transform=scene['transform'])
    before = sha256(src), os.stat(src).st_mtime_ns
    out = str(tmp_path / 'out.tif')
    assert main([SFNET, 'none', src, '--out', out, '--bands', '1,2,3'] +
                OPTS) == 0
    with rasterio.open(out) as dst:
        classes, nodata = dst.read(1), dst.nodata
    assert nodata == 255
    assert (classes[:20, :30] == 255).all()
    outside = np.ones_like(classes, bool)
    outside[:20, :30] = False
    # same random init (seed 0) as the fixture: equal outside the block's
    # tiles' reach is not guaranteed (the zeros change the logits nearby),
    # but the far corner is unaffected
    np.testing.assert_array_equal(classes[100:, 130:], reference[0][100:,
                                                                    130:])
    assert (sha256(src), os.stat(src).st_mtime_ns) == before


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def test_existing_output_needs_overwrite(scene, tmp_path, capsys):
    out = tmp_path / 'out.tif'
    out.write_bytes(b'finished earlier')
    assert main([SFNET, 'none', scene['path'], '--out', str(out)] + OPTS) == 1
    assert f'{out} exists; pass --overwrite' in capsys.readouterr().err
    assert out.read_bytes() == b'finished earlier'
    assert main(
        [SFNET, 'none', scene['path'], '--out',
         str(out), '--overwrite'] + OPTS) == 0
    with rasterio.open(out) as dst:
        assert dst.shape == (200, 230)


@pytest.mark.parametrize('case, message', [
    ('missing', 'input raster not found: {path}'),
    ('not_a_raster', 'cannot open {path} as a raster'),
    ('one_band', '{path} has 1 band(s); the model takes 3 (RGB): choose '
     'them with --bands'),
    ('four_band', '{path} has 4 band(s)'),
    ('tiny', '{path} is 20x40 px; large-image inference needs at least 32'),
    ('bad_bands', '--bands must name 3 bands among 1..3 of {path}'),
])
def test_bad_input_is_named(case, message, tmp_path, capsys):
    path = str(tmp_path / f'{case}.tif')
    extra = []
    if case == 'not_a_raster':
        with open(path, 'w') as f:
            f.write('not a raster')
    elif case in ('one_band', 'four_band', 'tiny', 'bad_bands'):
        shape = dict(
            one_band=(1, 64, 64),
            four_band=(4, 64, 64),
            tiny=(3, 20, 40),
            bad_bands=(3, 64, 64))[case]
        write_raster(path, np.zeros(shape, np.uint8))
        if case == 'bad_bands':
            extra = ['--bands', '1,2,4']
    out = tmp_path / 'out.tif'
    assert main([SFNET, 'none', path, '--out', str(out)] + OPTS + extra) == 1
    assert message.format(path=path) in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path)) == sorted(
        p for p in os.listdir(tmp_path) if not p.startswith('out'))


def test_static_export_refuses_another_tile():
    with pytest.raises(
            ValueError,
            match=r'tile \(96, 96\) \(h, w\) does '
            r'not fit the static export, which accepts \(64, '
            r'64\) only'):
        LargeImageInferencer(
            lambda x: x,
            _cfg(),
            19,
            tile=(96, 96),
            overlap=32,
            static_shape=(1, 64, 64))


def _cfg():
    from mmseg_ext.apis import load_config
    return load_config(SFNET)


def test_full_disk_leaves_no_output(inferencer, scene, tmp_path, monkeypatch):

    def full(fd, data, offset):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(large_image_io.os, 'pwrite', full)
    out = str(tmp_path / 'out.tif')
    with pytest.raises(
            OSError,
            match=r'cannot write .*out\.tif\.partial/'
            r'.*: No space left on device'):
        segment_raster(inferencer, scene['path'], out, progress=False)
    assert not [p for p in os.listdir(tmp_path) if p.endswith('.tif')]


def test_resume_skips_finished_rows_and_matches(inferencer, scene, reference,
                                                tmp_path, monkeypatch):
    out = str(tmp_path / 'out.tif')
    calls = []
    forward = LargeImageInferencer.forward

    def failing(self, batch):
        calls.append(len(batch))
        if len(calls) == 5:  # in the third tile row (2 batches a row)
            raise KeyboardInterrupt
        return forward(self, batch)

    monkeypatch.setattr(LargeImageInferencer, 'forward', failing)
    with pytest.raises(KeyboardInterrupt):
        segment_raster(inferencer, scene['path'], out, progress=False)
    assert not osp.exists(out)
    assert osp.isfile(out + '.partial/state.json')
    calls.clear()
    monkeypatch.setattr(LargeImageInferencer, 'forward', forward)
    stats = segment_raster(
        inferencer, scene['path'], out, resume=True, progress=False)
    assert stats['tiles'] == 4  # the last row only: 2 rows were done
    with rasterio.open(out) as dst:
        np.testing.assert_array_equal(dst.read(1), reference[0])
    assert not osp.exists(out + '.partial')


@pytest.mark.parametrize('device, env, expected', [
    ('cuda', dict(WORLD_SIZE='2', LOCAL_RANK='1'), 'cuda:1'),
    ('cuda', dict(), 'cuda'),
    ('cuda:3', dict(WORLD_SIZE='2', LOCAL_RANK='1'), 'cuda:3'),
    ('cpu', dict(WORLD_SIZE='2', LOCAL_RANK='1'), 'cpu'),
])
def test_each_torchrun_rank_gets_its_own_gpu(device, env, expected):
    """Under torchrun, plain ``cuda`` is the rank's own GPU (NCCL needs one
    device a rank); an explicit index and the CPU are kept."""
    assert rank_device(device, env) == expected
