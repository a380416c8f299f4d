"""One ``torchrun --nproc-per-node 2`` worker for
``test_large_image_dist.py`` (not a test module): several sharded runs in
one launch, so the process start-up (torch, mmseg, the model) is paid once:
after the user's script, the runs share one inferencer.

Usage: ``torchrun ... large_image_dist_worker.py CONFIG CKPT IMAGE TMP``.
Each rank writes ``TMP/rank<r>.json`` with what it saw:

1. ``sharded``: exit status of ``tools/large_image_inference.py`` (the
   user's script, run as ``__main__``) writing ``sharded.tif``.
2. ``interrupted``: ``resumed.tif`` is interrupted (an exception from the
   model's forward) on rank 0 in its 2nd tile row and on rank 1 in its last
   one (after the row that rebuilds its carry and one written row).
3. ``other_overlap``: the error of a resume with another overlap.
4. ``resumed_tiles``: the tiles each rank ran to finish ``resumed.tif``
   with ``resume=True``.
5. ``two_partial.tif`` is interrupted at the first forward and left for the
   test to resume with one process.
"""
import contextlib
import json
import os.path as osp
import runpy
import sys

import torch.distributed as dist

from mmseg_ext.apis.large_image import LargeImageInferencer
from mmseg_ext.apis.large_image_cli import build_inferencer
from mmseg_ext.apis.large_image_run import segment_raster

OPTS = [
    '--tile', '96', '--overlap', '40', '--batch-size', '2', '--threads', '1',
    '--no-progress'
]
# forward calls (2 per tile row of 3 tiles): rank 0 writes rows 0-2,
# rank 1 computes row 2 (its carry) and writes rows 3-4
FAIL_AT = {0: 3, 1: 5}


class Interrupted(Exception):
    """Stands for a killed run (raised from the model's forward)."""


@contextlib.contextmanager
def interrupt_at(call: int):
    """Make the ``call``-th forward (1-based) raise :class:`Interrupted`."""
    forward, calls = LargeImageInferencer.forward, []

    def failing(self, batch):
        calls.append(1)
        if len(calls) == call:
            raise Interrupted
        return forward(self, batch)

    LargeImageInferencer.forward = failing
    try:
        yield
    finally:
        LargeImageInferencer.forward = forward


def main() -> None:
    config, ckpt, image, tmp = sys.argv[1:5]
    dist.init_process_group('gloo')  # shared by every run below
    rank = dist.get_rank()
    seen = {}
    script = 'tools/large_image_inference.py'
    out = osp.join(tmp, 'sharded.tif')
    sys.argv = [
        script, config, ckpt, image, '--out', out, '--confidence',
        out.replace('.tif', '_conf.tif')
    ] + OPTS
    try:
        runpy.run_path(script, run_name='__main__')
    except SystemExit as done:
        seen['sharded'] = done.code
    # the script's settings (--threads 1 stays set), one model for the rest
    inferencer = build_inferencer(
        config, ckpt, tile=(96, 96), overlap=40, batch_size=2)
    other_overlap = LargeImageInferencer(
        inferencer.model,
        inferencer.cfg,
        inferencer.num_classes,
        tile=(96, 96),
        overlap=32,
        batch_size=2)

    def segment(name, model=inferencer, **kwargs):
        out = osp.join(tmp, name)
        return segment_raster(
            model,
            image,
            out,
            confidence_out=out.replace('.tif', '_conf.tif'),
            progress=False,
            model_id=osp.abspath(ckpt),
            **kwargs)

    try:
        with interrupt_at(FAIL_AT[rank]):
            segment('resumed.tif')
    except Interrupted:
        seen['interrupted'] = True
    try:
        segment('resumed.tif', other_overlap, resume=True)
    except ValueError as err:
        seen['other_overlap'] = str(err)
    seen['resumed_tiles'] = segment('resumed.tif', resume=True)['tiles']
    try:
        with interrupt_at(1):
            segment('two_partial.tif')
    except Interrupted:
        seen['two_partial'] = True
    with open(osp.join(tmp, f'rank{rank}.json'), 'w') as f:
        json.dump(seen, f)
    dist.destroy_process_group()


if __name__ == '__main__':
    main()
