"""Segment a video frame by frame and write the overlays (``video_demo``).

Frames are read with OpenCV (``cv2.VideoCapture``: a file, or a camera
index), segmented with mmseg's ``inference_model`` (the config's test
pipeline; one frame at a time), blended with the dataset palette and
written with ``cv2.VideoWriter`` to a temporary file (same extension)
renamed to the output only when every frame is written. The frame rate of
the model (segmentation only, not reading or writing) is drawn on each
frame and logged.
"""
import logging
import os
import os.path as osp
import time
from typing import NamedTuple, Optional, Sequence

import cv2
import numpy as np
from mmengine.logging import print_log


class VideoStats(NamedTuple):
    """What :func:`segment_video` returns.

    Attributes:
        frames (int): Frames read and written.
        fps (float): Mean segmentation frames per second (model only).
        out (str | None): The written video, None when not writing.
    """
    frames: int
    fps: float
    out: Optional[str]


def overlay(frame: np.ndarray,
            seg: np.ndarray,
            palette: Sequence[Sequence[int]],
            opacity: float = 0.5) -> np.ndarray:
    """Blend a class map into a BGR frame.

    Args:
        frame (np.ndarray): (H, W, 3) uint8 BGR frame.
        seg (np.ndarray): (H, W) integer class ids; ids outside the palette
            (e.g. 255) are left unpainted.
        palette (sequence): RGB colour per class id.
        opacity (float): Weight of the colours, in [0, 1]. Default: 0.5.

    Returns:
        np.ndarray: (H, W, 3) uint8 BGR overlay.

    Raises:
        ValueError: If ``seg`` and ``frame`` differ in height/width.
    """
    if seg.shape != frame.shape[:2]:
        raise ValueError(f'segmentation {seg.shape} does not match the frame '
                         f'{frame.shape[:2]}')
    colours = np.asarray(palette, np.uint8)[:, ::-1]  # RGB -> BGR
    valid = (seg >= 0) & (seg < len(colours))
    painted = frame.copy()
    painted[valid] = colours[seg[valid]]
    return cv2.addWeighted(frame, 1 - opacity, painted, opacity, 0)


def _open(source: str) -> cv2.VideoCapture:
    cap = cv2.VideoCapture(int(source) if source.isdigit() else source)
    if not cap.isOpened():
        raise FileNotFoundError(f'cannot open video {source!r} with OpenCV')
    return cap


def segment_video(model,
                  source: str,
                  out: Optional[str] = None,
                  opacity: float = 0.5,
                  show: bool = False,
                  log_interval: int = 50) -> VideoStats:
    """Segment every frame of ``source``; write overlays with FPS to ``out``.

    Args:
        model: A segmentor from :func:`mmseg.apis.init_model` (its
            ``dataset_meta['palette']`` colours the classes).
        source (str): Video path or camera index (``'0'``).
        out (str, optional): Output video path (``.mp4`` -> ``mp4v``,
            otherwise ``XVID``); written atomically.
        opacity (float): Colour weight of the overlay. Default: 0.5.
        show (bool): Also show each frame in a window.
        log_interval (int): Log the running FPS every N frames.

    Returns:
        VideoStats: frames, mean model FPS and the output path.

    Raises:
        FileNotFoundError: If OpenCV cannot open ``source``.
        ValueError: If the video holds no frame.
    """
    from mmseg.apis import inference_model
    cap = _open(source)
    palette = model.dataset_meta['palette']
    fps_in = cap.get(cv2.CAP_PROP_FPS) or 25.0
    tmp = None
    if out:
        # OpenCV picks the container from the extension: keep it
        root, ext = osp.splitext(osp.abspath(out))
        tmp = f'{osp.dirname(root)}/.{osp.basename(root)}.partial{ext}'
    writer, frames, seconds = None, 0, 0.0
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            start = time.perf_counter()
            result = inference_model(model, frame)
            seconds += time.perf_counter() - start
            frames += 1
            seg = result.pred_sem_seg.data[0].cpu().numpy()
            shown = overlay(frame, seg, palette, opacity)
            fps = frames / seconds
            cv2.putText(shown, f'{fps:.2f} FPS', (10, 30),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2)
            if tmp is not None:
                if writer is None:
                    fourcc = 'mp4v' if ext == '.mp4' else 'XVID'
                    writer = cv2.VideoWriter(tmp,
                                             cv2.VideoWriter_fourcc(*fourcc),
                                             fps_in,
                                             (frame.shape[1], frame.shape[0]))
                writer.write(shown)
            if show:
                cv2.imshow('video_demo', shown)
                cv2.waitKey(1)
            if frames % log_interval == 0:
                print_log(f'{frames} frames, {fps:.2f} FPS', 'current')
        if frames == 0:
            raise ValueError(f'{source}: no frame could be read')
        if writer is not None:
            writer.release()
            writer = None
            os.replace(tmp, out)
    except BaseException:
        if writer is not None:
            writer.release()
        if tmp is not None and osp.lexists(tmp):
            os.remove(tmp)
        raise
    finally:
        cap.release()
    fps = frames / seconds
    print_log(
        f'{source}: {frames} frames segmented at {fps:.2f} FPS (model only)' +
        (f', written to {out}' if out else ''),
        'current',
        level=logging.INFO)
    return VideoStats(frames, fps, out)


def main(argv=None) -> int:
    """``tools/video_demo.py``'s command line; returns the exit status."""
    import argparse

    from mmseg.apis import init_model
    parser = argparse.ArgumentParser(
        description='Segment a video with an mmseg_ext config and write the '
        'overlays, with the model FPS drawn on each frame.')
    parser.add_argument('video', help='video file or camera index')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out', help='output video (.mp4 or .avi)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--opacity', type=float, default=0.5)
    parser.add_argument('--show', action='store_true')
    args = parser.parse_args(argv)
    if not (args.out or args.show):
        parser.error('give --out, --show or both')
    if args.out and osp.dirname(args.out):
        os.makedirs(osp.dirname(args.out), exist_ok=True)
    import mmseg_ext  # noqa: F401  registers components
    model = init_model(args.config, args.checkpoint, device=args.device)
    segment_video(model, args.video, args.out, args.opacity, args.show)
    return 0
