"""Whole-scene evaluation through mmengine's Runner (what ``mim test``
runs): ``SceneTestLoop`` + ``SceneIoUMetric`` on a window of the real iSAID
sample give the mIoU of mmseg's ``slide_inference`` over the whole scene.

Random-init PFNet-R50 (shipped config, seed 0, saved as a checkpoint that
the runner loads); 160 px tiles with 32 px overlap on a 300 x 360 window of
P0005 and its label (colour mask -> ids with the converter's palette)."""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.runner import Runner
from mmseg.evaluation import IoUMetric

from mmseg_ext.apis import build_model, load_config
from mmseg_ext.datasets.preparation.isaid import rgb_to_ids
from mmseg_ext.evaluation import SceneIoUMetric

PFNET = 'configs/pfnet/pfnet_r50-d32_8xb2-34k_isaid-896x896.py'
pytestmark = pytest.mark.usefixtures('repo_root_one_thread')


def _scene_dataset(data_root, root):
    src = osp.join(data_root, 'isaid', 'train')
    image = cv2.imread(osp.join(src, 'images', 'P0005.png'))[400:700, 300:660]
    colour = cv2.imread(
        osp.join(src, 'Semantic_masks', 'images',
                 'P0005_instance_color_RGB.png'))[400:700, 300:660]
    label = rgb_to_ids(colour[..., ::-1])
    (root / 'img_dir' / 'val').mkdir(parents=True)
    (root / 'ann_dir' / 'val').mkdir(parents=True)
    cv2.imwrite(str(root / 'img_dir' / 'val' / 'P0005.png'), image)
    cv2.imwrite(
        str(root / 'ann_dir' / 'val' / 'P0005_instance_color_RGB.png'), label)
    return image, label


def test_scene_loop_scores_the_stitched_scene(data_root, tmp_path):
    image, label = _scene_dataset(data_root, tmp_path / 'data')
    assert len(np.unique(label)) > 1
    torch.manual_seed(0)
    model = build_model(PFNET)
    ckpt = str(tmp_path / 'pfnet.pth')
    torch.save({'state_dict': model.state_dict()}, ckpt)

    cfg = load_config(PFNET)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.load_from = ckpt
    loader = cfg.test_dataloader
    loader.num_workers = 0
    loader.persistent_workers = False
    loader.dataset.data_root = str(tmp_path / 'data')
    loader.dataset.data_prefix = dict(
        img_path='img_dir/val', seg_map_path='ann_dir/val')
    # the config's test pipeline resizes to 896x896: the loop keeps only
    # its loading steps (it reads the scene itself), as `mim test
    # --cfg-options test_cfg.type=SceneTestLoop` gives it
    assert any(step.type == 'Resize' for step in loader.dataset.pipeline)
    cfg.test_cfg = dict(
        type='SceneTestLoop', tile=(160, 160), overlap=32, batch_size=3)
    cfg.test_evaluator = dict(type='SceneIoUMetric', iou_metrics=['mIoU'])
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    steps = [
        type(t).__name__
        for t in runner.test_loop.dataloader.dataset.pipeline.transforms
    ]
    # the config's Resize is left out (the Checked* dataset adds its own
    # CheckLoadedSample)
    assert 'Resize' not in steps, steps
    assert steps[:2] == ['LoadImageFromFile', 'LoadAnnotations'], steps
    assert steps[-1] == 'PackSegInputs', steps

    # the reference: mmseg's slide inference over the whole window
    model.test_cfg = ConfigDict(
        mode='slide', crop_size=(160, 160), stride=(128, 128))
    x = torch.from_numpy(image).permute(2, 0, 1).float()
    x = model.data_preprocessor(dict(inputs=[x]), False)['inputs']
    h, w = label.shape
    metas = [dict(ori_shape=(h, w), img_shape=(h, w), pad_shape=(h, w))]
    with torch.no_grad():
        pred = model.slide_inference(x, metas)[0].argmax(0)
    areas = IoUMetric.intersect_and_union(pred,
                                          torch.from_numpy(label).long(), 16,
                                          255)
    ious = (areas[0] / areas[1]).numpy()
    expected = np.round(np.nanmean(ious) * 100, 2)
    assert metrics['scene/mIoU'] == pytest.approx(expected, abs=1e-6)


def test_scene_metric_refuses_patch_predictions():
    metric = SceneIoUMetric()
    metric.dataset_meta = dict(classes=('a', 'b'))
    sample = dict(
        img_path='P0003.png',
        pred_sem_seg=dict(data=torch.zeros(1, 896, 896, dtype=torch.long)),
        gt_sem_seg=dict(data=torch.zeros(1, 1023, 1147, dtype=torch.long)))
    with pytest.raises(
            ValueError,
            match=r'P0003.png: prediction \(896, '
            r'896\) does not cover the scene \(1023, 1147\)'):
        metric.process({}, [sample])
