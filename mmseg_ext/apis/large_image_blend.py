"""Blend tile logits one tile row at a time, in memory bounded by the tile.

:class:`RowBlender` takes the tiles of one tile row of the grid
(:func:`mmseg_ext.apis.tiling.tile_grid`) left to right, in batches, and
hands back the blended logits of every pixel as soon as no later tile
covers it:

* within the row, the columns left of the next tile's start are final for
  the row's whole band once a batch is added; only the overlap with the
  next batch stays in memory, ``(C, crop_h, <= crop_w)`` float32;
* the band's lower rows that the next tile row also covers (its overlap,
  ``crop_h - stride_h`` px high, scene-wide) are the *carry*: partial sums
  written to a file in the work folder (``carry_<row>.bin``, float32,
  column-major so one batch's columns are one read) and read back, batch
  by batch, when the next row starts. Memory therefore depends on the tile
  and batch, not on the scene's width or height.

Summation order equals mmseg 1.2.2's ``slide_inference``: a pixel's sum
starts from 0, takes the earlier rows' tiles (the carry, in their order)
and then this row's tiles left to right; dividing by the count (uniform
blend) gives the same float32 values as ``preds / count_mat``.
"""
import os
import os.path as osp
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from .tiling import Span, axis_normaliser, axis_weight

# (y0, y1, x0, x1, logits (C, y1 - y0, x1 - x0) float32)
FinalBlock = Tuple[int, int, int, int, np.ndarray]


def carry_path(work_dir: str, row: int) -> str:
    """The carry file tile row ``row`` writes for the next one."""
    return osp.join(work_dir, f'carry_{row}.bin')


class RowBlender:
    """Blended logits of a tile grid, row by row (see the module).

    Args:
        rows (sequence[tuple[int, int]]): Tile row spans (y, px).
        cols (sequence[tuple[int, int]]): Tile column spans (x, px).
        num_classes (int): Logit channels C.
        blend (str): ``'uniform'`` or ``'distance'``
            (:mod:`mmseg_ext.apis.tiling`).
        work_dir (str): Folder for the carry files (exists).
        width (int): Scene width (px).
    """

    def __init__(self, rows: Sequence[Span], cols: Sequence[Span],
                 num_classes: int, blend: str, work_dir: str, width: int):
        self.rows, self.cols = list(rows), list(cols)
        self.num_classes = num_classes
        self.work_dir = work_dir
        self.width = width
        height = self.rows[-1][1]
        self.wy = axis_weight(self.rows, blend)
        self.wx = axis_weight(self.cols, blend)
        self.norm_y = axis_normaliser(height, self.rows, self.wy)
        self.norm_x = axis_normaliser(width, self.cols, self.wx)
        self.uniform = blend == 'uniform'

    def final_end(self, row: int) -> int:
        """First pixel row that a later tile row still covers (= the next
        row's start; the scene height for the last row)."""
        if row + 1 < len(self.rows):
            return self.rows[row + 1][0]
        return self.rows[row][1]

    def first_row_for(self, row: int) -> int:
        """The first tile row whose tiles reach pixel rows of ``row``'s
        band: where a run that writes from ``row`` must start computing
        (its earlier rows rebuild the carry)."""
        start = self.rows[row][0]
        return next(r for r, (_, end) in enumerate(self.rows) if end > start)

    def batches(self, batch_size: int) -> List[List[int]]:
        """Column indices of one row, in batches of ``batch_size``."""
        n = len(self.cols)
        return [
            list(range(i, min(i + batch_size, n)))
            for i in range(0, n, batch_size)
        ]

    def run_row(self,
                row: int,
                logits_of: Callable[[List[int]], Iterator[np.ndarray]],
                batch_size: int,
                carry_in: bool = True) -> Iterator[FinalBlock]:
        """Blend tile row ``row``; yield its final pixels block by block.

        Args:
            row (int): Tile row index.
            logits_of (callable): ``logits_of(columns)`` -> the logits of
                those tiles of this row, (N, C, h, w) float32 numpy.
            batch_size (int): Tiles per call of ``logits_of``.
            carry_in (bool): Read the earlier row's carry file. False
                starts from zero sums: the first row a run computes, whose
                pixels covered by earlier rows are not wanted (a rank
                rebuilding its carry, see :meth:`first_row_for`).
            carry_in (bool): Read the earlier row's carry file. False
                starts from zero sums: the first row a run computes, whose
                pixels covered by earlier rows are not wanted (a rank
                rebuilding its carry, see :meth:`first_row_for`).

        Yields:
            tuple: ``(y0, y1, x0, x1, values)`` with ``values`` the blended
            logits (C, y1 - y0, x1 - x0) float32 of pixel rows
            ``[y0, y1)`` (this row's final part) and columns ``[x0, x1)``;
            together the blocks cover ``[y0, y1) x [0, width)``.

        Raises:
            OSError: If a carry file cannot be read or written (names it).
        """
        y0, y1 = self.rows[row]
        fin = self.final_end(row)
        band, keep = y1 - y0, y1 - fin
        c_in = self._carry_height(row) if carry_in else 0
        pending = np.zeros((self.num_classes, band, 0), np.float32)
        out_file = carry_path(self.work_dir, row) if keep else None
        in_file = carry_path(self.work_dir, row - 1) if c_in else None
        with _CarryFile(out_file, 'wb', self.num_classes, keep) as out, \
                _CarryFile(in_file, 'rb', self.num_classes, c_in) as inp:
            batches = self.batches(batch_size)
            for b, columns in enumerate(batches):
                x0 = self.cols[columns[0]][0]
                x_end = self.cols[columns[-1]][1]
                p_end = x0 + pending.shape[2]
                acc = np.zeros((self.num_classes, band, x_end - x0),
                               np.float32)
                acc[:, :, :pending.shape[2]] = pending
                if c_in and x_end > p_end:
                    acc[:, :c_in, p_end - x0:] = inp.read(p_end, x_end)
                tiles = logits_of(columns)
                for col, logits in zip(columns, tiles):
                    a, e = self.cols[col]
                    if not self.uniform:
                        logits = logits * (
                            self.wy[row][:, None] * self.wx[col][None, :])
                    acc[:, :, a - x0:e - x0] += logits
                last = b + 1 == len(batches)
                xf = self.width if last else self.cols[columns[-1] + 1][0]
                done = acc[:, :, :xf - x0]
                if keep:
                    out.write(x0, done[:, fin - y0:])
                values = done[:, :fin - y0] / (
                    self.norm_y[y0:fin, None] * self.norm_x[None, x0:xf])
                pending = acc[:, :, xf - x0:].copy()
                yield y0, fin, x0, xf, values

    def _carry_height(self, row: int) -> int:
        """Pixel rows of ``row``'s band carried in from earlier rows."""
        if row == 0:
            return 0
        return max(0, self.rows[row - 1][1] - self.rows[row][0])


class _CarryFile:
    """One carry file: (W, C, h) float32 rows, read/written by columns."""

    def __init__(self, path: Optional[str], mode: str, channels: int,
                 height: int):
        self.path, self.mode = path, mode
        self.channels, self.height = channels, height
        self.fd = None

    def __enter__(self):
        if self.path is not None:
            flags = os.O_RDONLY if self.mode == 'rb' else \
                os.O_WRONLY | os.O_CREAT | os.O_TRUNC
            try:
                self.fd = os.open(self.path, flags, 0o644)
            except OSError as err:
                raise OSError(
                    err.errno, f'cannot open the carry file '
                    f'{self.path}: {err.strerror}') from err
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            os.close(self.fd)

    def _column_bytes(self) -> int:
        return self.channels * self.height * 4

    def write(self, x0: int, block: np.ndarray) -> None:
        data = np.ascontiguousarray(block.transpose(2, 0, 1)).tobytes()
        try:
            written = os.pwrite(self.fd, data, x0 * self._column_bytes())
        except OSError as err:
            raise OSError(
                err.errno, f'cannot write the carry file '
                f'{self.path}: {err.strerror}') from err
        if written != len(data):
            raise OSError(f'short write to the carry file {self.path} '
                          f'({written} of {len(data)} bytes; disk full?)')

    def read(self, x0: int, x1: int) -> np.ndarray:
        size = (x1 - x0) * self._column_bytes()
        data = os.pread(self.fd, size, x0 * self._column_bytes())
        if len(data) != size:
            raise OSError(f'the carry file {self.path} is truncated '
                          f'(columns {x0}-{x1})')
        array = np.frombuffer(data,
                              np.float32).reshape(x1 - x0, self.channels,
                                                  self.height)
        return array.transpose(1, 2, 0)
