"""Building segmentors (:mod:`.builder`, our ``init_model``) and inference
helpers on top of mmseg's ``inference_model``."""
from .builder import build_model, load_config, load_weights
from .video import VideoStats, overlay, segment_video

__all__ = [
    'build_model', 'load_config', 'load_weights', 'VideoStats', 'overlay',
    'segment_video'
]
