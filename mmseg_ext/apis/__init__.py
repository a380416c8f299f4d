"""Building segmentors (:mod:`.builder`, our ``init_model``) and inference
helpers on top of mmseg's ``inference_model``; tiled inference of rasters
of any size (:mod:`.large_image`)."""
from .builder import build_model, load_config, load_weights
from .large_image import LargeImageInferencer
from .large_image_cli import build_inferencer
from .large_image_run import segment_raster
from .video import VideoStats, overlay, segment_video

__all__ = [
    'build_model', 'load_config', 'load_weights', 'VideoStats', 'overlay',
    'segment_video', 'LargeImageInferencer', 'build_inferencer',
    'segment_raster'
]
