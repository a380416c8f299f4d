"""``tools/video_demo.py`` on a short video made of the real Cityscapes
sample: every frame comes out, painted with the class colours.

The demo runs the shipped SFNet config through a child config that only
resizes the test image to 512x256 instead of 2048x1024 (the sample frame is
256x128): the same model and pipeline steps at 1/16 of the pixels."""
import glob
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmseg_ext.apis import build_model
from mmseg_ext.apis.video import main, overlay

CONFIG = 'configs/sfnet/sfnet_r18-d32_4xb2-50k_cityscapes-512x1024.py'
pytestmark = pytest.mark.usefixtures('repo_root_one_thread')


def test_video_demo_writes_every_frame_with_overlays(tmp_path,
                                                     cityscapes_root):
    (image, ) = glob.glob(
        osp.join(cityscapes_root, 'leftImg8bit', '*', '*', '*.png'))
    frame = cv2.imread(image)
    h, w = frame.shape[:2]
    # a camera pan over the real frame: 5 shifted copies
    frames = [np.roll(frame, 8 * i, axis=1) for i in range(5)]
    video = str(tmp_path / 'in.avi')
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'MJPG'), 5, (w, h))
    for f in frames:
        writer.write(f)
    writer.release()

    cfg = Config.fromfile(CONFIG)
    pipeline = [dict(t) for t in cfg.test_pipeline]
    (resize, ) = [t for t in pipeline if t['type'] == 'Resize']
    resize['scale'] = (512, 256)
    config = tmp_path / 'sfnet_small_test.py'
    config.write_text(f'_base_ = [{osp.abspath(CONFIG)!r}]\n'
                      f'test_pipeline = {pipeline!r}\n')
    torch.manual_seed(0)
    model = build_model(cfg)
    ckpt = str(tmp_path / 'sfnet.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)

    out = str(tmp_path / 'out' / 'overlay.mp4')
    assert main([video, str(config), ckpt, '--out', out]) == 0
    cap = cv2.VideoCapture(out)
    written = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        written.append(f)
    cap.release()
    assert len(written) == len(frames)
    assert all(f.shape == frame.shape for f in written)
    for src, dst in zip(frames, written):
        diff = np.abs(src.astype(int) - dst.astype(int)).mean()
        assert diff > 10, diff  # colours painted (codec noise is ~2)
    assert not glob.glob(str(tmp_path / 'out' / '.*'))  # no temp left


def test_overlay_paints_classes_and_skips_ignore():
    frame = np.zeros((2, 3, 3), np.uint8)
    seg = np.array([[0, 1, 255], [1, 0, 0]])
    out = overlay(frame, seg, [(255, 0, 0), (0, 0, 255)], opacity=1.0)
    assert out[0, 0].tolist() == [0, 0, 255]  # RGB red -> BGR
    assert out[0, 1].tolist() == [255, 0, 0]
    assert out[0, 2].tolist() == [0, 0, 0]  # 255 stays unpainted
    with pytest.raises(ValueError, match='does not match'):
        overlay(frame, seg[:1], [(0, 0, 0)])


def test_unreadable_video_is_named(tmp_path):
    from mmseg_ext.apis.video import segment_video
    with pytest.raises(FileNotFoundError, match='nothing.mp4'):
        segment_video(None, str(tmp_path / 'nothing.mp4'))
