"""Raster input and GeoTIFF output of the large-image inferencer.

Input: any raster GDAL reads (GeoTIFF, PNG, JPEG, ...), opened read-only
with rasterio and read window by window (:class:`SourceRaster`).

Output: the class indices are first written as raw uint8 rows into the
run's work folder (``<out>.partial/classes.u8``; ``confidence.f32`` for the
confidence raster), at their own offsets, so tile rows may finish in any
process and order and an interrupted run keeps what it wrote. When every
row is there, :func:`write_geotiff` streams them into a GeoTIFF (tiled,
deflate) under a temporary name and renames it to the output: a file under
the output's name is always complete.
"""
import os
import os.path as osp
from typing import Optional, Sequence

import numpy as np

NODATA_CLASS = 255
#: Rows per block when streaming raw rows into the GeoTIFF.
COPY_ROWS = 256


def _rasterio():
    try:
        import rasterio
    except ImportError as err:
        raise ImportError('large-image inference reads and writes rasters '
                          'with rasterio: pip install rasterio') from err
    return rasterio


class SourceRaster:
    """A raster opened read-only, read as (3, h, w) windows.

    Args:
        path (str): Raster file.
        bands (sequence[int], optional): 1-based band indices to read, in
            the model's RGB order; default ``(1, 2, 3)`` for a raster of
            exactly 3 bands.
        min_size (int): Smallest accepted side (px). Default 32.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If rasterio cannot open it, if it has not 3 bands and
            ``bands`` is not given, if a band index is out of range, if a
            side is smaller than ``min_size``.
    """

    def __init__(self,
                 path: str,
                 bands: Optional[Sequence[int]] = None,
                 min_size: int = 32):
        rasterio = _rasterio()
        if not osp.isfile(path):
            raise FileNotFoundError(f'input raster not found: {path}')
        try:
            self.dataset = rasterio.open(path, 'r')
        except rasterio.errors.RasterioIOError as err:
            raise ValueError(f'cannot open {path} as a raster: {err}') \
                from err
        self.path = path
        count = self.dataset.count
        if bands is None:
            if count != 3:
                self.close()
                raise ValueError(
                    f'{path} has {count} band(s); the model takes 3 (RGB): '
                    'choose them with --bands, e.g. --bands 1,2,3 (or '
                    '--bands 1,1,1 for a single band)')
            bands = (1, 2, 3)
        bands = tuple(int(b) for b in bands)
        if len(bands) != 3 or not all(1 <= b <= count for b in bands):
            self.close()
            raise ValueError(f'--bands must name 3 bands among 1..{count} '
                             f'of {path}, got {bands}')
        self.bands = bands
        self.height, self.width = self.dataset.height, self.dataset.width
        if min(self.height, self.width) < min_size:
            self.close()
            raise ValueError(
                f'{path} is {self.height}x{self.width} px; large-image '
                f'inference needs at least {min_size} px per side')
        self.nodata = self.dataset.nodata

    def read(self, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        """Pixels ``[y0:y1, x0:x1]`` of the chosen bands: (3, h, w), the
        raster's dtype."""
        from rasterio.windows import Window
        return self.dataset.read(
            self.bands, window=Window(x0, y0, x1 - x0, y1 - y0))

    def nodata_mask(self, pixels: np.ndarray) -> Optional[np.ndarray]:
        """(h, w) bool: pixels whose every band equals the source nodata
        (None without nodata)."""
        if self.nodata is None:
            return None
        return np.all(pixels == self.nodata, axis=0)

    def close(self) -> None:
        self.dataset.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class RawRows:
    """A raw (H, W) array file written/read by whole pixel rows.

    Args:
        path (str): The file (created at the full size if missing).
        height (int): Rows.
        width (int): Columns.
        dtype: numpy dtype of a pixel.
    """

    def __init__(self, path: str, height: int, width: int, dtype):
        self.path = path
        self.width = width
        self.dtype = np.dtype(dtype)
        self.row_bytes = width * self.dtype.itemsize
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        if os.fstat(self.fd).st_size != height * self.row_bytes:
            os.ftruncate(self.fd, height * self.row_bytes)

    def write(self, y0: int, rows: np.ndarray) -> None:
        """Write (h, W) rows starting at pixel row ``y0`` and sync them.

        Raises:
            OSError: If the disk refuses the write (names the file).
        """
        data = np.ascontiguousarray(rows, self.dtype).tobytes()
        try:
            written = os.pwrite(self.fd, data, y0 * self.row_bytes)
            os.fsync(self.fd)
        except OSError as err:
            raise OSError(
                err.errno, f'cannot write {self.path}: '
                f'{err.strerror} (disk full?)') from err
        if written != len(data):
            raise OSError(f'short write to {self.path}: {written} of '
                          f'{len(data)} bytes (disk full?)')

    def read(self, y0: int, y1: int) -> np.ndarray:
        data = os.pread(self.fd, (y1 - y0) * self.row_bytes,
                        y0 * self.row_bytes)
        return np.frombuffer(data, self.dtype).reshape(y1 - y0, self.width)

    def close(self) -> None:
        os.close(self.fd)


def colormap(palette: Sequence[Sequence[int]]) -> dict:
    """GDAL colour table ``{class: (r, g, b, 255)}`` of an RGB palette."""
    return {i: (*map(int, rgb), 255) for i, rgb in enumerate(palette)}


def write_geotiff(source: SourceRaster,
                  classes: RawRows,
                  out: str,
                  palette: Optional[Sequence[Sequence[int]]] = None,
                  confidence: Optional[RawRows] = None,
                  confidence_out: Optional[str] = None,
                  overlay_out: Optional[str] = None,
                  opacity: float = 0.5) -> None:
    """Stream the raw rows into the output GeoTIFF(s), each written to
    ``<name>.partial.tif`` and renamed when complete.

    The class raster is single-band uint8 (255 = nodata where the source
    has nodata) with the source's CRS, transform and a colour table from
    ``palette``; ``confidence_out`` gets the float32 confidence;
    ``overlay_out`` a 3-band uint8 RGB blend of the source (its chosen
    bands, uint8 sources only) and the palette colours.

    Raises:
        OSError: If a file cannot be written (names it); nothing is left
            under the output names then.
    """
    rasterio = _rasterio()
    from rasterio.windows import Window
    src = source.dataset
    base = dict(
        driver='GTiff',
        height=source.height,
        width=source.width,
        crs=src.crs,
        transform=src.transform,
        tiled=True,
        blockxsize=256,
        blockysize=256,
        compress='deflate')
    profiles = {
        out:
        dict(
            base,
            count=1,
            dtype='uint8',
            nodata=NODATA_CLASS if source.nodata is not None else None)
    }
    if confidence_out:
        profiles[confidence_out] = dict(
            base, count=1, dtype='float32', nodata=None)
    if overlay_out:
        profiles[overlay_out] = dict(
            base, count=3, dtype='uint8', nodata=None, photometric='RGB')
    colours = None
    if palette is not None:
        colours = np.zeros((256, 3), np.uint8)
        colours[:len(palette)] = np.asarray(palette, np.uint8)
    partial = {name: _partial_name(name) for name in profiles}
    opened = {}
    try:
        for name, profile in profiles.items():
            opened[name] = rasterio.open(partial[name], 'w', **profile)
        if colours is not None:
            opened[out].write_colormap(1, colormap(palette))
        for y0 in range(0, source.height, COPY_ROWS):
            y1 = min(y0 + COPY_ROWS, source.height)
            window = Window(0, y0, source.width, y1 - y0)
            cls = classes.read(y0, y1)
            opened[out].write(cls, 1, window=window)
            if confidence_out:
                opened[confidence_out].write(
                    confidence.read(y0, y1), 1, window=window)
            if overlay_out:
                pixels = source.read(y0, y1, 0, source.width)
                painted = colours[cls].transpose(2, 0, 1) if colours is \
                    not None else pixels
                blend = pixels * (1 - opacity) + painted * opacity
                blend = np.where(cls[None] == NODATA_CLASS, pixels, blend)
                opened[overlay_out].write(
                    np.clip(np.rint(blend), 0, 255).astype(np.uint8),
                    window=window)
        for name in list(opened):
            opened.pop(name).close()
        for name in profiles:
            os.replace(partial[name], name)
    except BaseException as err:
        for dataset in opened.values():
            try:
                dataset.close()
            except Exception:
                pass
        for name in profiles:
            if osp.lexists(partial[name]):
                os.remove(partial[name])
        if isinstance(err, rasterio.errors.RasterioIOError):
            raise OSError(f'cannot write {out}: {err}') from err
        raise


def _partial_name(path: str) -> str:
    root, _ = osp.splitext(path)
    return root + '.partial.tif'
