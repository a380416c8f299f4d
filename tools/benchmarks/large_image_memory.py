#!/usr/bin/env python
"""Peak memory and throughput of the large-image inferencer vs scene size.

Writes a synthetic 3-band uint8 GeoTIFF of each size into a temporary
folder (removed at the end; never kept), then runs the inferencer on it
for every backend and batch size, each in a fresh process so that its peak
RSS (``ru_maxrss``) is its own. Beside each size it gives the allocation of
mmseg 1.2.2's ``slide_inference`` for that scene (computed:
``N x C x H x W`` fp32 logits + the ``N x 1 x H x W`` count map + the
``N x 3 x H x W`` fp32 input, which must exist before it runs)::

    nice -n 19 python tools/benchmarks/large_image_memory.py \\
        configs/sfnet/sfnet_r18-d32_4xb2-50k_cityscapes-512x1024.py \\
        --sizes 10000 20000 --backends pytorch onnxruntime --batch 1 \\
        --tile 1024 --overlap 256 --rows 2 --out result.json

``--backends mmseg`` also runs mmseg's ``slide_inference`` itself on the
scene (the whole scene read into one tensor, as mmseg takes it; eager,
random weights), beside the computed allocation.

``--cli`` runs each measurement through the product's command line
instead (``tools/large_image_inference.py ... --out OUT.tif``: reading,
tiles, blending, the streamed GeoTIFF written and renamed into place) over
the whole scene; its peak RSS is the child's own (``os.wait4``) and its
Mpx/s counts the whole wall time, start-up included. ``--rows`` does not
apply then.

``--rows K`` stops after the first K tile rows (every tile row holds the
same memory by construction: one band of at most two batches of tiles, the
carry strip on disk), so that a slow CPU gives the peak and the rate
without running all rows; the JSON records K and the rows of the scene.
The random weights (``none``) cost what trained ones cost.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time

import numpy as np


def make_geotiff(path: str, size: int) -> None:
    """A ``size`` x ``size`` 3-band uint8 tiled GeoTIFF (smooth pattern +
    noise, UTM CRS, uncompressed), written in strips."""
    import rasterio
    from rasterio.transform import from_origin
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 40, (512, size)).astype(np.float32)
    profile = dict(
        driver='GTiff',
        height=size,
        width=size,
        count=3,
        dtype='uint8',
        crs='EPSG:32633',
        transform=from_origin(500000, 5000000, 0.3, 0.3),
        tiled=True,
        blockxsize=512,
        blockysize=512)
    x = np.arange(size, dtype=np.float32)
    with rasterio.open(path, 'w', **profile) as dst:
        for y0 in range(0, size, 512):
            y1 = min(y0 + 512, size)
            y = np.arange(y0, y1, dtype=np.float32)[:, None]
            base = 127 + 60 * np.sin(x[None] / 97.0) * np.cos(y / 61.0)
            block = np.stack([
                base + noise[:y1 - y0], 255 - base, base / 2 + noise[:y1 - y0]
            ])
            dst.write(
                np.clip(block, 0, 255).astype(np.uint8),
                window=rasterio.windows.Window(0, y0, size, y1 - y0))


def mmseg_slide_bytes(size: int, classes: int, batch: int = 1) -> int:
    """Bytes mmseg 1.2.2's ``slide_inference`` holds for a scene before any
    tile runs: fp32 logits, count map and input (see the module)."""
    return batch * size * size * 4 * (classes + 1 + 3)


def run_mmseg(args) -> dict:
    """mmseg 1.2.2's ``EncoderDecoder.slide_inference`` on the whole scene,
    as mmseg runs it: the scene read into one (1, 3, H, W) tensor,
    normalised by the model's data preprocessor, then its slide loop (the
    (1, C, H, W) logit and count buffers), then the argmax; in this
    process (``--single --backend mmseg``), random weights."""
    import torch
    from mmengine.config import ConfigDict
    from mmseg.structures import SegDataSample

    from mmseg_ext.apis import build_model
    from mmseg_ext.apis.large_image_io import SourceRaster
    from mmseg_ext.apis.large_image_run import peak_rss_mb
    torch.set_num_threads(args.threads)
    model = build_model(args.config, None).eval()
    stride = args.tile - args.overlap
    model.test_cfg = ConfigDict(
        mode='slide',
        crop_size=(args.tile, args.tile),
        stride=(stride, stride))
    start = time.perf_counter()
    with SourceRaster(args.image) as source:
        size = source.height
        image = source.read(0, size, 0, source.width)  # (3, H, W) uint8
    # BGR, as mmseg's LoadImageFromFile gives it
    tensor = torch.from_numpy(np.ascontiguousarray(image[::-1]))
    del image
    meta = dict(
        ori_shape=(size, size), img_shape=(size, size), pad_shape=(size, size))
    with torch.no_grad():
        data = model.data_preprocessor(
            dict(inputs=[tensor], data_samples=[SegDataSample(metainfo=meta)]),
            False)
        del tensor
        logits = model.slide_inference(data['inputs'], [meta])
        logits.argmax(1)
    seconds = time.perf_counter() - start
    # mmseg 1.2.2's grid: max(H - crop + stride - 1, 0) // stride + 1
    rows = max(size - args.tile + stride - 1, 0) // stride + 1
    return dict(
        backend='mmseg slide_inference',
        batch=1,
        size=size,
        rows_run=rows,
        rows_total=rows,
        cols=rows,
        tiles=rows * rows,
        seconds=round(seconds, 2),
        tiles_per_s=round(rows * rows / seconds, 4),
        mpx_per_s=round(size * size / 1e6 / seconds, 4),
        peak_rss_mb=round(peak_rss_mb(), 1),
        threads=args.threads,
        via='mmseg EncoderDecoder.slide_inference (whole scene in memory)')


def run_one(args) -> dict:
    """One measurement in this process (``--single``)."""
    import torch
    if args.backend == 'mmseg':
        return run_mmseg(args)

    from mmseg_ext.apis.large_image_blend import RowBlender
    from mmseg_ext.apis.large_image_cli import build_inferencer
    from mmseg_ext.apis.large_image_io import SourceRaster
    from mmseg_ext.apis.large_image_run import peak_rss_mb
    torch.set_num_threads(args.threads)
    weights = args.export_dir if args.backend != 'pytorch' else 'none'
    inferencer = build_inferencer(
        args.config,
        weights,
        backend=None if args.backend == 'pytorch' else args.backend,
        num_threads=args.threads,
        tile=(args.tile, args.tile),
        overlap=args.overlap,
        batch_size=args.batch)
    with SourceRaster(args.image) as source, \
            tempfile.TemporaryDirectory() as work:
        rows, cols = inferencer.grid(source.height, source.width)
        blender = RowBlender(rows, cols, inferencer.num_classes, 'uniform',
                             work, source.width)
        n_rows = min(args.rows or len(rows), len(rows))
        start = time.perf_counter()
        pixels = 0
        for row in range(n_rows):
            for y0, y1, x0, x1, values in inferencer.blocks(
                    source, blender, row):
                values.argmax(0)
                pixels += (y1 - y0) * (x1 - x0)
        seconds = time.perf_counter() - start
    tiles = n_rows * len(cols)
    return dict(
        backend=args.backend,
        batch=args.batch,
        size=source.height,
        rows_run=n_rows,
        rows_total=len(rows),
        cols=len(cols),
        tiles=tiles,
        seconds=round(seconds, 2),
        tiles_per_s=round(tiles / seconds, 4),
        mpx_per_s=round(pixels / 1e6 / seconds, 4),
        peak_rss_mb=round(peak_rss_mb(), 1),
        threads=args.threads)


def run_cli(args, image: str, backend: str, batch: int,
            export_dir: str) -> dict:
    """One whole-scene run of ``tools/large_image_inference.py`` in a child
    process: its wall time and its own peak RSS (``os.wait4``)."""
    import rasterio
    with rasterio.open(image) as src:
        size = src.height
    weights = 'none' if backend == 'pytorch' else export_dir
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            osp.join(
                osp.dirname(osp.abspath(__file__)), '..',
                'large_image_inference.py'), args.config, weights, image,
            '--out',
            osp.join(tmp, 'classes.tif'), '--tile',
            str(args.tile), '--overlap',
            str(args.overlap), '--batch-size',
            str(batch), '--threads',
            str(args.threads), '--no-progress'
        ]
        start = time.perf_counter()
        proc = subprocess.Popen(cmd)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            raise subprocess.CalledProcessError(proc.returncode, cmd)
        written = osp.getsize(osp.join(tmp, 'classes.tif'))
    from mmseg_ext.apis import tiling
    starts = tiling.axis_windows(size, args.tile, args.tile - args.overlap)
    tiles = len(starts)**2
    return dict(
        backend=backend,
        batch=batch,
        size=size,
        rows_run=len(starts),
        rows_total=len(starts),
        cols=len(starts),
        tiles=tiles,
        seconds=round(seconds, 2),
        tiles_per_s=round(tiles / seconds, 4),
        mpx_per_s=round(size * size / 1e6 / seconds, 4),
        peak_rss_mb=round(usage.ru_maxrss / 1024, 1),
        threads=args.threads,
        output_bytes=written,
        via='tools/large_image_inference.py (whole scene, output written; '
        'wall time includes start-up)')


def table_row(args, run: dict) -> dict:
    """A run as a row of the docs' speed tables (``tools.docs`` reads
    ``fps`` = tiles/s and ``peak_mem_mib`` = peak RSS)."""
    return dict(
        run,
        config=args.config,
        input=f'{run["size"]}x{run["size"]}',
        device='cpu',
        dtype='fp32',
        mode=f'tiles {args.tile}, overlap {args.overlap}',
        options=f'{run["mpx_per_s"]} Mpx/s; FPS = tiles/s; '
        f'{run["rows_run"]} of {run["rows_total"]} tile rows',
        fps=run['tiles_per_s'],
        peak_mem_mib=run['peak_rss_mb'],
        peak_mem_method='ours: peak RSS (ru_maxrss) of a fresh process, '
        'imports included')


def export(config: str, tile: int, batch: int, folder: str) -> str:
    from mmseg_ext.deploy.export import export_onnx
    export_onnx(config, None, folder, (tile, tile), False, batch_size=batch)
    with open(osp.join(folder, 'deploy.json')) as f:
        info = json.load(f)
    info.update(
        backend='onnxruntime',
        precision='fp32',
        model_file=info['onnx'],
        model_config=config)
    from mmseg_ext.apis import load_config
    from mmseg_ext.deploy.identity import model_config_sha256
    info['model_config_sha256'] = model_config_sha256(
        load_config(config).model)
    with open(osp.join(folder, 'deploy.json'), 'w') as f:
        json.dump(info, f, indent=2)
    return folder


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--sizes', type=int, nargs='+', default=[10000])
    parser.add_argument(
        '--backends', nargs='+', default=['pytorch', 'onnxruntime'])
    parser.add_argument('--batch', type=int, nargs='+', default=[1])
    parser.add_argument('--tile', type=int, default=1024)
    parser.add_argument('--overlap', type=int, default=256)
    parser.add_argument(
        '--rows',
        type=int,
        default=0,
        help='tile rows to run per scene (0: all)')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--out', required=True)
    parser.add_argument(
        '--cli',
        action='store_true',
        help='measure whole-scene runs of tools/large_image_inference.py')
    parser.add_argument(
        '--single', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('--image', help=argparse.SUPPRESS)
    parser.add_argument('--backend', help=argparse.SUPPRESS)
    parser.add_argument('--export-dir', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.single:
        args.batch = args.batch[0]
        with open(args.out, 'w') as f:
            json.dump(run_one(args), f)
        return 0
    from mmseg_ext.apis import load_config
    from mmseg_ext.apis.large_image_cli import num_classes_of
    classes = num_classes_of(load_config(args.config))
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        exports = {}
        for backend in args.backends:
            for batch in args.batch:
                if backend == 'onnxruntime':
                    exports[batch] = export(args.config, args.tile, batch,
                                            osp.join(tmp, f'export_{batch}'))
        for size in args.sizes:
            image = osp.join(tmp, f'scene_{size}.tif')
            make_geotiff(image, size)
            for backend in args.backends:
                for batch in args.batch:
                    if args.cli and backend != 'mmseg':
                        runs.append(
                            run_cli(args, image, backend, batch,
                                    exports.get(batch)))
                        print(json.dumps(runs[-1]), flush=True)
                        continue
                    one = osp.join(tmp, 'one.json')
                    cmd = [
                        sys.executable, __file__, args.config, '--single',
                        '--image', image, '--backend', backend, '--batch',
                        str(batch), '--tile',
                        str(args.tile), '--overlap',
                        str(args.overlap), '--rows',
                        str(args.rows), '--threads',
                        str(args.threads), '--out', one
                    ]
                    if backend == 'onnxruntime':
                        cmd += ['--export-dir', exports[batch]]
                    subprocess.run(cmd, check=True)
                    with open(one) as f:
                        runs.append(json.load(f))
                    print(json.dumps(runs[-1]), flush=True)
            os.remove(image)
    result = dict(
        args=dict(vars(args), warmup=0, iters=args.rows or 'all'),
        rows=[table_row(args, run) for run in runs] + [
            dict(
                config=args.config,
                input=f'{size}x{size}',
                batch=1,
                device='cpu',
                backend='mmseg slide_inference',
                dtype='fp32',
                mode='slide',
                options='not run: allocation computed',
                peak_mem_mib=round(mmseg_slide_bytes(size, classes) / 2**20),
                peak_mem_method='mmseg: N x (C + 1 + 3) x H x W fp32 '
                '(logits, count map, input), computed') for size in args.sizes
        ])
    with open(args.out, 'w') as f:
        json.dump(result, f, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
