"""Segment rasters of any size tile by tile (``tools/large_image_inference``).

:class:`LargeImageInferencer` reads a raster window by window
(:class:`~mmseg_ext.apis.large_image_io.SourceRaster`, rasterio), runs the
tiles of mmseg's slide placement (:mod:`mmseg_ext.apis.tiling`) in batches
through an eager segmentor or an exported one
(:class:`mmseg_ext.deploy.backends.BackendModel`), blends the logits of
overlapping tiles (:class:`~mmseg_ext.apis.large_image_blend.RowBlender`)
and writes each finished tile row at once: memory depends on the tile, the
batch and the overlap strip, not on the scene.

With ``blend='uniform'`` the blended logits equal mmseg 1.2.2's
``EncoderDecoder.slide_inference`` on the same image, crop and stride (the
same windows and summation order; tests allow 1e-5 for batched tiles).
``mode='whole'`` runs the image as one tile, as ``whole_inference`` does:
its memory is the scene's.

Under ``torchrun`` (an initialised ``torch.distributed`` group) the tile
rows are split among the ranks (:mod:`mmseg_ext.apis.large_image_run`); the
output is byte-identical to one process with the same threads and batch.
"""
from typing import Iterator, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn

from .tiling import BLENDS, tile_grid

Block = Tuple[int, int, int, int, np.ndarray]
MIN_SIDE = 32


class LargeImageInferencer:
    """Tiled inference of one model over whole rasters.

    Args:
        model (nn.Module | callable): An mmseg segmentor (eager; run as
            ``encode_decode`` on each batch, in ``torch.no_grad``) or a
            :class:`~mmseg_ext.deploy.backends.BackendModel`: (N, 3, h, w)
            normalised float32 -> (N, C, h, w) logits.
        cfg (Config): The model's config: normalisation (``model.
            data_preprocessor``: mean, std, ``bgr_to_rgb``), classes and the
            default tile (``test_cfg.crop_size``, else the preprocessor's
            ``size``).
        num_classes (int): Logit channels C.
        tile (sequence[int], optional): Tile (h, w) px; default from
            ``cfg``.
        overlap (int | sequence[int]): Overlap of neighbouring tiles (px);
            the stride is ``tile - overlap``. Default 256.
        batch_size (int): Tiles per forward. Default 1.
        blend (str): ``'uniform'`` (mmseg's average) or ``'distance'``
            (:mod:`mmseg_ext.apis.tiling`). Default ``'uniform'``.
        mode (str): ``'slide'`` or ``'whole'`` (the image as one tile).
        palette (sequence, optional): RGB colour per class (colour table).
        static_shape (tuple, optional): ``(N, h, w)`` a static export
            accepts; tiles of another size are refused.
        device (str): Where eager tiles run. Default ``'cpu'``.

    Raises:
        ValueError: For an unknown mode/blend, a tile/overlap that leaves no
            stride, a batch size < 1, or a tile a static export refuses.
    """

    def __init__(self,
                 model: Union[nn.Module, object],
                 cfg,
                 num_classes: int,
                 tile: Optional[Sequence[int]] = None,
                 overlap: Union[int, Sequence[int]] = 256,
                 batch_size: int = 1,
                 blend: str = 'uniform',
                 mode: str = 'slide',
                 palette: Optional[Sequence[Sequence[int]]] = None,
                 static_shape: Optional[Tuple[int, int, int]] = None,
                 device: str = 'cpu'):
        if mode not in ('slide', 'whole'):
            raise ValueError(f"mode must be 'slide' or 'whole', got {mode!r}")
        if blend not in BLENDS:
            raise ValueError(f'blend must be one of {BLENDS}, got {blend!r}')
        if batch_size < 1:
            raise ValueError(f'batch size must be >= 1, got {batch_size}')
        self.model, self.cfg = model, cfg
        self.num_classes = int(num_classes)
        self.mode, self.blend = mode, blend
        self.batch_size = batch_size
        self.palette = palette
        self.static_shape = static_shape
        self.device = device
        self.eager = isinstance(model, nn.Module)
        pre = cfg.model.get('data_preprocessor', {}) or {}
        self.mean = np.asarray(pre.get('mean', (0., 0., 0.)), np.float32)
        self.std = np.asarray(pre.get('std', (1., 1., 1.)), np.float32)
        # rasterio reads the file's band order (RGB); mmseg loads BGR and
        # converts when bgr_to_rgb is set: feed BGR to the others
        self.flip_to_bgr = not pre.get('bgr_to_rgb', False)
        if mode == 'whole':
            self.tile = self.stride = None
            return
        self.tile = tuple(int(t) for t in (tile or default_tile(cfg)))
        overlap = (overlap, overlap) if isinstance(overlap, int) else overlap
        self.stride = tuple(t - int(o) for t, o in zip(self.tile, overlap))
        if min(overlap) < 0 or min(self.stride) < 1:
            raise ValueError(f'overlap {tuple(overlap)} must be >= 0 and '
                             f'smaller than the tile {self.tile}')
        if static_shape is not None:
            self._check_static(self.tile)

    def _check_static(self, tile: Sequence[int]) -> None:
        if self.static_shape is not None and \
                tuple(tile) != tuple(self.static_shape[1:]):
            raise ValueError(
                f'tile {tuple(tile)} (h, w) does not fit the static export, '
                f'which accepts {tuple(self.static_shape[1:])} only: pass '
                '--tile with that size or export a dynamic model')

    def grid(self, height: int, width: int) -> Tuple[list, list]:
        """Tile rows and columns of a ``height`` x ``width`` image."""
        if self.mode == 'whole':
            return [(0, height)], [(0, width)]
        return tile_grid(height, width, self.tile, self.stride)

    def normalise(self, pixels: np.ndarray) -> np.ndarray:
        """(3, h, w) raster pixels -> (3, h, w) float32 model input, as the
        config's ``SegDataPreProcessor`` does (channel order, mean, std)."""
        if self.flip_to_bgr:
            pixels = pixels[::-1]
        x = pixels.astype(np.float32)
        return (x - self.mean[:, None, None]) / self.std[:, None, None]

    def forward(self, batch: np.ndarray) -> np.ndarray:
        """Logits of a normalised batch: (N, 3, h, w) -> (N, C, h, w)
        float32 numpy (a static export's fixed N is padded to)."""
        n = batch.shape[0]
        if self.static_shape is not None and n < self.static_shape[0]:
            pad = np.zeros((self.static_shape[0] - n, ) + batch.shape[1:],
                           np.float32)
            batch = np.concatenate([batch, pad])
        x = torch.from_numpy(np.ascontiguousarray(batch))
        if self.eager:
            from ..deploy.export import End2End
            with torch.no_grad():
                out = End2End(self.model)(x.to(self.device))
        else:
            out = self.model(x)
        out = out.detach().float().cpu().numpy()[:n]
        if out.shape[1] != self.num_classes:
            raise RuntimeError(f'the model returned {out.shape[1]} logit '
                               f'channels, the config has {self.num_classes}')
        return out

    def blocks(self,
               source,
               blender,
               row: int,
               on_tiles=None,
               carry_in: bool = True) -> Iterator[Block]:
        """Blended logits of tile row ``row`` of ``source`` (see
        :meth:`RowBlender.run_row`, also for ``carry_in``); the tiles of a
        batch are read in one window; ``on_tiles(n)`` is called after each
        batch of n tiles."""
        y0, y1 = blender.rows[row]

        def logits_of(columns):
            x0, x1 = blender.cols[columns[0]][0], blender.cols[columns[-1]][1]
            pixels = self.normalise(source.read(y0, y1, x0, x1))
            tiles = [
                pixels[:, :, blender.cols[c][0] - x0:blender.cols[c][1] - x0]
                for c in columns
            ]
            logits = self.forward(np.stack(tiles))
            if on_tiles is not None:
                on_tiles(len(columns))
            return logits

        return blender.run_row(row, logits_of, self.batch_size, carry_in)


def default_tile(cfg) -> Tuple[int, int]:
    """The config's tile: ``model.test_cfg.crop_size`` in slide mode, else
    ``model.data_preprocessor.size`` (the training crop).

    Raises:
        ValueError: If the config has neither.
    """
    test_cfg = cfg.model.get('test_cfg') or {}
    if test_cfg.get('crop_size'):
        return tuple(test_cfg['crop_size'])
    size = (cfg.model.get('data_preprocessor') or {}).get('size')
    if size:
        return tuple(size)
    raise ValueError('the config names no crop size (model.test_cfg.'
                     'crop_size or model.data_preprocessor.size): pass --tile')


def classes_and_confidence(
        logits: np.ndarray,
        confidence: bool) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """(C, h, w) logits -> (h, w) uint8 argmax and, if asked, the softmax
    probability of that class (float32)."""
    classes = logits.argmax(0).astype(np.uint8)
    if not confidence:
        return classes, None
    top = logits.max(0)
    prob = 1.0 / np.exp(logits - top[None]).sum(0)
    return classes, prob.astype(np.float32)
