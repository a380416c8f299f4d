"""Run a :class:`~mmseg_ext.apis.large_image.LargeImageInferencer` over one
raster: work folder, resume, sharding across processes, progress.

:func:`segment_raster` writes ``OUT`` (and optionally the confidence and
overlay rasters). Its work folder ``<OUT>.partial/``
(:mod:`mmseg_ext.apis.large_image_state`) holds the raw class rows
(``classes.u8``), ``state.json`` (what the run computes, how many
processes) and per rank the blender's carry files and ``progress.json``
(tile rows written); the GeoTIFF is assembled from it at the end under a
temporary name and renamed (:func:`mmseg_ext.apis.large_image_io.
write_geotiff`), then the folder is removed. ``resume=True`` continues an
interrupted run, one process or sharded, after each rank's last written
tile row; it must have the same image, weights, config, tile, overlap,
blend, batch, confidence output and number of processes (else a
``ValueError`` naming ``state.json`` and what differs).

Sharding: with an initialised ``torch.distributed`` group of N processes
(``torchrun --nproc-per-node N``; gloo on CPU, nccl on GPU), the tile rows
are split into N contiguous parts. Each rank first recomputes the earlier
rows whose tiles reach its first row (the carry; at most a row or two),
then writes its rows' pixels into the shared ``classes.u8`` at their own
offsets; rank 0 assembles the GeoTIFF after a barrier. Same tiles, batches
and summation order as one process: the output is byte-identical (given
the same torch threads), also when resumed (a resumed rank reads the carry
its last written row left on disk, float32 partial sums, instead of
recomputing it). The work folder must be on a file system all ranks see
(a shared one across nodes).
"""
import logging
import os
import os.path as osp
import resource
import shutil
import time
from typing import Iterator, Optional, Sequence, Tuple

import numpy as np
import torch.distributed as dist
from mmengine.logging import print_log
from mmengine.utils import ProgressBar

from .large_image import MIN_SIDE, LargeImageInferencer, classes_and_confidence
from .large_image_blend import RowBlender, carry_path
from .large_image_io import NODATA_CLASS, RawRows, SourceRaster, write_geotiff
from .large_image_state import (open_work_dir, rank_dir, run_key,
                                save_progress, split_rows)


def _world() -> Tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _barrier(world: int) -> None:
    if world > 1:
        dist.barrier()


def peak_rss_mb() -> float:
    """This process' peak resident memory (MiB, ``ru_maxrss``)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _check_outputs(outputs: Sequence[str], overwrite: bool) -> None:
    for path in outputs:
        if osp.exists(path) and not overwrite:
            raise FileExistsError(
                f'{path} exists; pass --overwrite to replace it')
        parent = osp.dirname(osp.abspath(path))
        if not osp.isdir(parent):
            raise FileNotFoundError(f'output folder {parent} of {path} '
                                    'does not exist')


def segment_raster(inferencer: LargeImageInferencer,
                   image: str,
                   out: str,
                   bands: Optional[Sequence[int]] = None,
                   confidence_out: Optional[str] = None,
                   overlay_out: Optional[str] = None,
                   resume: bool = False,
                   overwrite: bool = False,
                   progress: bool = True,
                   model_id: str = '') -> dict:
    """Segment ``image`` into the class GeoTIFF ``out``.

    Args:
        inferencer (LargeImageInferencer): Model, tiles and blend.
        image (str): Input raster (opened read-only).
        out (str): Output GeoTIFF: single-band uint8 class indices, the
            source's CRS and transform, 255 where the source is nodata, a
            colour table from the palette.
        bands (sequence[int], optional): 1-based input bands (RGB order).
        confidence_out (str, optional): float32 GeoTIFF of the softmax
            probability of the chosen class.
        overlay_out (str, optional): RGB GeoTIFF, source blended with the
            class colours.
        resume (bool): Continue the run in ``<out>.partial/`` (the same
            settings and number of processes).
        overwrite (bool): Replace existing outputs.
        progress (bool): Show a progress bar (rank 0).
        model_id (str): What identifies the weights in the resume state.

    Returns:
        dict: ``tiles``, ``seconds``, ``tiles_per_s``, ``mpx_per_s`` (scene
        megapixels / s), ``peak_rss_mb``, ``rows``, ``cols``, ``out``.

    Raises:
        FileExistsError: If an output exists and not ``overwrite``.
        FileNotFoundError / ValueError: For a bad input raster or bands.
        ValueError: For ``resume`` with a work folder of another run (other
            key or number of processes; names ``state.json`` and what
            differs), raised on every rank.
        OSError: If writing fails (disk full): names the file; no file is
            left under an output name.
    """
    rank, world = _world()
    outputs = [p for p in (out, confidence_out, overlay_out) if p]
    _check_outputs(outputs, overwrite)
    work_dir = osp.abspath(out) + '.partial'
    with SourceRaster(image, bands, MIN_SIDE) as source:
        key = run_key(inferencer, source, model_id, bool(confidence_out))
        rows, cols = inferencer.grid(source.height, source.width)
        if inferencer.static_shape is not None:
            inferencer._check_static(
                (rows[0][1] - rows[0][0], cols[0][1] - cols[0][0]))
        parts = split_rows(len(rows), world)
        first, last = parts[rank]
        done = open_work_dir(work_dir, key, parts, resume, rank)
        classes = RawRows(
            osp.join(work_dir, 'classes.u8'), source.height, source.width,
            np.uint8)
        conf = RawRows(
            osp.join(work_dir, 'confidence.f32'), source.height, source.width,
            np.float32) if confidence_out else None
        carry_dir = rank_dir(work_dir, rank)
        blender = RowBlender(rows, cols, inferencer.num_classes,
                             inferencer.blend, carry_dir, source.width)
        # resumed after row done - 1: its carry is on disk; else rebuild
        # the carry of the rows above this part (none for the first part)
        resumed = done > first
        start_row = done if resumed or done >= last else \
            blender.first_row_for(first)
        n_tiles = (last - start_row) * len(cols)
        bar = ProgressBar(n_tiles) if progress and rank == 0 and \
            n_tiles else None
        start = time.perf_counter()
        try:
            for row in range(start_row, last):
                _run_row(inferencer, source, blender, row, row >= done,
                         classes, conf, bar, row > start_row or resumed)
                if row >= done:
                    save_progress(work_dir, rank, parts[rank], row + 1)
                old = carry_path(carry_dir, row - 1)
                if osp.exists(old):
                    os.remove(old)
            seconds = time.perf_counter() - start
            _barrier(world)
            if rank == 0:
                write_geotiff(source, classes, out, inferencer.palette, conf,
                              confidence_out, overlay_out)
        finally:
            classes.close()
            if conf is not None:
                conf.close()
        _barrier(world)
        if rank == 0:
            shutil.rmtree(work_dir, ignore_errors=True)
    if bar is not None:
        print()
    pixels = source.height * source.width
    stats = dict(
        out=out,
        rows=len(rows),
        cols=len(cols),
        tiles=n_tiles,
        seconds=round(seconds, 3),
        tiles_per_s=round(n_tiles / max(seconds, 1e-9), 3),
        mpx_per_s=round(pixels / world / 1e6 / max(seconds, 1e-9), 4),
        peak_rss_mb=round(peak_rss_mb(), 1))
    if rank == 0:
        print_log(
            f'{image}: {source.height}x{source.width} px, {n_tiles} tiles '
            f'on rank 0 of {world} in {seconds:.1f} s ({stats["tiles_per_s"]}'
            f' tiles/s, {stats["mpx_per_s"]} Mpx/s), peak RSS '
            f'{stats["peak_rss_mb"]} MiB -> {out}',
            'current',
            level=logging.INFO)
    return stats


def _run_row(inferencer, source, blender, row, write, classes, conf, bar,
             carry_in):
    """Blend tile row ``row``; write its final pixel rows if ``write``;
    ``carry_in``: read the earlier row's carry file."""
    y0, fin = blender.rows[row][0], blender.final_end(row)
    strip = np.zeros((fin - y0, source.width), np.uint8)
    prob = np.zeros(strip.shape, np.float32) if conf is not None else None
    on_tiles = None if bar is None else \
        (lambda n: [bar.update() for _ in range(n)])
    for _, _, x0, x1, values in inferencer.blocks(source, blender, row,
                                                  on_tiles, carry_in):
        cls, p = classes_and_confidence(values, prob is not None)
        strip[:, x0:x1] = cls
        if prob is not None:
            prob[:, x0:x1] = p
    if not write:
        return
    if source.nodata is not None:
        mask = source.nodata_mask(source.read(y0, fin, 0, source.width))
        strip[mask] = NODATA_CLASS
    classes.write(y0, strip)
    if conf is not None:
        conf.write(y0, prob)


def scene_rows(
        inferencer: LargeImageInferencer,
        image: str,
        bands: Optional[Sequence[int]] = None,
        work_dir: Optional[str] = None
) -> Iterator[Tuple[int, int, np.ndarray]]:
    """Class rows of ``image`` as they finish, without writing a raster
    (for scene-level evaluation).

    Yields:
        tuple: ``(y0, y1, classes)``: pixel rows ``[y0, y1)``, (h, W)
        uint8 class indices.
    """
    import tempfile
    with SourceRaster(image, bands, MIN_SIDE) as source, \
            tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        rows, cols = inferencer.grid(source.height, source.width)
        blender = RowBlender(rows, cols, inferencer.num_classes,
                             inferencer.blend, tmp, source.width)
        for row in range(len(rows)):
            y0, fin = rows[row][0], blender.final_end(row)
            strip = np.zeros((fin - y0, source.width), np.uint8)
            for _, _, x0, x1, values in inferencer.blocks(
                    source, blender, row):
                strip[:, x0:x1] = values.argmax(0)
            yield y0, fin, strip
