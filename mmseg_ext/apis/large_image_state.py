"""The work folder of a large-image run (``<out>.partial/``) and ``--resume``.

Layout, the same for one process and for N ranks under ``torchrun``:

* ``state.json``: ``{"key": {...}, "processes": N}``, written by rank 0
  when the folder is made. The key says what the run computes
  (:func:`run_key`: image, bands, weights, model config hash, mode, tile,
  overlap, blend, batch size, confidence raster).
* ``classes.u8`` (and ``confidence.f32``): the raw output rows
  (:class:`~mmseg_ext.apis.large_image_io.RawRows`); each rank writes the
  pixel rows of its own tile rows.
* ``rank<r>/``: rank r's carry files
  (:func:`~mmseg_ext.apis.large_image_blend.carry_path`) and
  ``progress.json``: ``{"rank": r, "rows": [first, last], "done": d}``,
  tile rows ``[first, d)`` of its part ``[first, last)`` written (saved
  after each tile row, write-then-rename).

Resuming (:func:`open_work_dir`) needs the same key and the same number of
processes: the tile rows are split by :func:`split_rows`, so each rank
gets back its own part and continues after its last written row, reading
the carry that row left in ``rank<r>/``. Anything else is refused with a
``ValueError`` naming ``state.json`` (or the rank's ``progress.json``) and
what differs; the folder is then left as it is.
"""
import json
import logging
import os
import os.path as osp
import shutil
from typing import Callable, List, Sequence, Tuple

import numpy as np
import torch.distributed as dist
from mmengine.logging import print_log

STATE = 'state.json'
PROGRESS = 'progress.json'


def split_rows(n_rows: int, world: int) -> List[Tuple[int, int]]:
    """Contiguous tile-row parts ``[(first, last), ...]`` of ``world``
    ranks (numpy ``array_split`` sizes: the first ranks get one more)."""
    parts = np.array_split(np.arange(n_rows), world)
    bounds, start = [], 0
    for part in parts:
        bounds.append((start, start + len(part)))
        start += len(part)
    return bounds


def rank_dir(work_dir: str, rank: int) -> str:
    """Rank ``rank``'s folder (carry files, ``progress.json``)."""
    return osp.join(work_dir, f'rank{rank}')


def run_key(inferencer, source, model_id: str, confidence: bool) -> dict:
    """What a run computes (JSON-plain): a resume must match it exactly.

    Args:
        inferencer (LargeImageInferencer): Model settings, tile, blend.
        source (SourceRaster): The input raster.
        model_id (str): What identifies the weights (path).
        confidence (bool): Whether a confidence raster is written.
    """
    from ..deploy.identity import model_config_sha256
    tile = stride = overlap = None
    if inferencer.tile is not None:
        tile, stride = list(inferencer.tile), list(inferencer.stride)
        overlap = [t - s for t, s in zip(tile, stride)]
    return dict(
        image=osp.abspath(source.path),
        size=[source.height, source.width],
        bands=list(source.bands),
        weights=model_id,
        model_config=model_config_sha256(inferencer.cfg.model),
        mode=inferencer.mode,
        tile=tile,
        overlap=overlap,
        blend=inferencer.blend,
        batch_size=inferencer.batch_size,
        confidence=bool(confidence))


def _read_json(path: str) -> dict:
    try:
        with open(path) as f:
            value = json.load(f)
    except (OSError, ValueError) as err:
        raise ValueError(f'--resume: cannot read {path} ({err}); remove '
                         f'{osp.dirname(path)} or run without --resume') \
            from err
    if not isinstance(value, dict):
        raise ValueError(f'--resume: {path} holds no JSON object')
    return value


def write_json(path: str, value: dict) -> None:
    """Write ``value`` to ``path`` through ``<path>.tmp``, fsync, rename."""
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(value, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save_progress(work_dir: str, rank: int, part: Sequence[int],
                  done: int) -> None:
    """Record that rank ``rank`` wrote tile rows ``[part[0], done)``."""
    write_json(
        osp.join(rank_dir(work_dir, rank), PROGRESS),
        dict(rank=rank, rows=list(part), done=done))


def _show(field: str, value) -> str:
    if field == 'model_config' and isinstance(value, str):
        return f'sha256 {value[:12]}...'
    return repr(value)


def _differences(old: dict, new: dict) -> List[str]:
    fields = list(new) + [f for f in old if f not in new]
    return [
        f'{f} {_show(f, old.get(f))} there, {_show(f, new.get(f))} now'
        for f in fields if old.get(f) != new.get(f)
    ]


def _processes(n: int) -> str:
    return f'{n} process' + ('es' if n != 1 else '')


def _resumed_rows(work_dir: str, key: dict,
                  parts: List[Tuple[int, int]]) -> List[int]:
    """Validate an existing folder against this run; the first tile row
    each rank still has to write."""
    state_file = osp.join(work_dir, STATE)
    state = _read_json(state_file)
    world, old_world = len(parts), state.get('processes')
    if old_world != world:
        if not isinstance(old_world, int):
            raise ValueError(
                f'--resume: {state_file} names no number of processes (a '
                f'work folder of another version): remove {work_dir} or run '
                'without --resume to start over')
        how = ('without torchrun' if old_world == 1 else
               f'under torchrun --nproc-per-node {old_world}')
        raise ValueError(
            f'--resume: {state_file} was written by a run of '
            f'{_processes(old_world)}, this run has {_processes(world)}: '
            f'the tile rows are split by process, so resume it {how}, or '
            f'remove {work_dir} (or run without --resume) to start over')
    diffs = _differences(state.get('key') or {}, json.loads(json.dumps(key)))
    if diffs:
        raise ValueError(f'--resume: {state_file} belongs to another run ('
                         f'{"; ".join(diffs)}): remove {work_dir} or run '
                         'without --resume to start over')
    done = []
    for rank, (first, last) in enumerate(parts):
        path = osp.join(rank_dir(work_dir, rank), PROGRESS)
        if not osp.isfile(path):
            done.append(first)
            continue
        record = _read_json(path)
        rows_done = record.get('done')
        if record.get('rows') != [first, last] or \
                not isinstance(rows_done, int) or \
                not first <= rows_done <= last:
            raise ValueError(
                f'--resume: {path} records tile rows {record.get("rows")} '
                f'done up to {rows_done}; this run gives rank {rank} the '
                f'rows [{first}, {last}): remove {work_dir} to start over')
        done.append(rows_done)
    return done


def _prepare(work_dir: str, key: dict, parts: List[Tuple[int, int]],
             resume: bool) -> List[int]:
    """Rank 0's part of :func:`open_work_dir`."""
    state_file = osp.join(work_dir, STATE)
    if resume and osp.isfile(state_file):
        done = _resumed_rows(work_dir, key, parts)
        print_log(
            f'--resume: {work_dir}: ' +
            ', '.join(f'rank {r} from tile row {d} of [{a}, {b})'
                      for r, ((a, b), d) in enumerate(zip(parts, done))),
            'current',
            level=logging.INFO)
        return done
    if resume:
        print_log(
            f'--resume: {state_file} does not exist; starting from the '
            'first tile row',
            'current',
            level=logging.WARNING)
    if osp.isdir(work_dir):
        shutil.rmtree(work_dir)
    os.makedirs(work_dir)
    write_json(state_file, dict(key=key, processes=len(parts)))
    return [first for first, _ in parts]


def on_rank0(rank: int, world: int, fn: Callable):
    """Run ``fn()`` on rank 0 and give its result to every rank; an
    exception it raises is raised on every rank (so no rank waits for a
    failed one). ``world == 1``: just ``fn()``."""
    if world == 1:
        return fn()
    payload = [None]
    if rank == 0:
        try:
            payload[0] = ('ok', fn())
        except Exception as err:  # handed to the other ranks, re-raised
            payload[0] = ('error', err)
    dist.broadcast_object_list(payload, src=0)
    status, value = payload[0]
    if status == 'error':
        raise value
    return value


def open_work_dir(work_dir: str, key: dict, parts: List[Tuple[int, int]],
                  resume: bool, rank: int) -> int:
    """Make (or, with ``resume``, validate) the work folder; every rank
    calls it. Returns the first tile row rank ``rank`` still has to write
    (its part's first row unless resumed).

    Without ``resume`` (or with no ``state.json`` to resume) an existing
    folder is removed and a new one made. Rank 0 does the work; the others
    receive its result.

    Args:
        work_dir (str): ``<out>.partial``.
        key (dict): :func:`run_key` of this run.
        parts (list[tuple[int, int]]): :func:`split_rows` of the tile rows
            among this run's processes.
        resume (bool): Continue the run found in ``work_dir``.
        rank (int): This process' rank.

    Raises:
        ValueError: On every rank, if ``resume`` and the folder belongs to
            a run with another key or number of processes, or holds an
            unreadable or inconsistent state file (the message names the
            file and what differs; nothing is removed).
        OSError: If the folder cannot be made.
    """
    done = on_rank0(rank, len(parts),
                    lambda: _prepare(work_dir, key, parts, resume))
    os.makedirs(rank_dir(work_dir, rank), exist_ok=True)
    return done[rank]
