"""Whole-scene evaluation: mIoU over stitched scenes, not patches.

PFNet's iSAID protocol (and mmseg's iSAID converter) scores 896 x 896
patches cut from the DOTA scenes with overlap, so a scene's overlapping
pixels count several times and seams are never seen
(lxtGH/PFSegNets#12). Here each test sample is a whole scene:

* :class:`SceneTestLoop` (``test_cfg = dict(type='SceneTestLoop', ...)``)
  segments each sample's ``img_path`` with the large-image inferencer
  (:mod:`mmseg_ext.apis.large_image`: tiles, blended logits row by row,
  memory bounded by the tile), so no scene-sized logit tensor exists; the
  prediction handed on is the (1, H, W) uint8 class map.
* :class:`SceneIoUMetric` is mmseg's ``IoUMetric`` that refuses a
  prediction of another size than its ground truth (a patch) and prefixes
  its keys with ``scene`` (``scene/mIoU``).

With ``mim test``::

    mim test mmseg CONFIG --checkpoint CKPT --cfg-options \\
        test_cfg.type=SceneTestLoop test_cfg.tile='(896,896)' \\
        test_cfg.overlap=384 test_evaluator.type=SceneIoUMetric

The loop reads each scene itself, window by window, so it keeps only the
loading steps of the config's test pipeline (``Load*`` transforms and
``PackSegInputs``; a ``Resize`` would not apply to the tiles) and logs
the steps it leaves out. The loaded uint8 image is only used by the
project's ``Checked*`` datasets to compare its size with its label's.
"""
import copy
from typing import Optional, Sequence, Union

import numpy as np
import torch
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import TestLoop
from mmengine.structures import PixelData
from mmseg.evaluation import IoUMetric
from mmseg.registry import LOOPS, METRICS


def scene_pipeline(pipeline: Sequence[dict]) -> list:
    """The loading steps of a test ``pipeline`` (transforms whose type
    starts with ``Load``, and ``PackSegInputs``): what a scene needs when
    the loop reads the pixels itself."""
    return [
        step for step in pipeline
        if str(step.get('type', '')).startswith('Load')
        or step.get('type') == 'PackSegInputs'
    ]


@LOOPS.register_module()
class SceneTestLoop(TestLoop):
    """mmengine's ``TestLoop`` predicting whole scenes tile by tile.

    Args:
        runner (Runner): The runner.
        dataloader (DataLoader | dict): Test data; each sample's
            ``img_path`` is a scene raster.
        evaluator (Evaluator | dict | list): E.g. :class:`SceneIoUMetric`.
        tile (sequence[int], optional): Tile (h, w) px; default the
            config's (``model.test_cfg.crop_size`` or the preprocessor's
            ``size``).
        overlap (int | sequence[int]): Tile overlap (px). Default 256.
        batch_size (int): Tiles per forward. Default 1.
        blend (str): ``'uniform'`` (mmseg's) or ``'distance'``.
        mode (str): ``'slide'`` or ``'whole'``.
        bands (sequence[int], optional): 1-based input bands (RGB order).
        fp16 (bool): Unused (mmengine's argument; tiles run in fp32).
    """

    def __init__(self,
                 runner,
                 dataloader,
                 evaluator,
                 tile: Optional[Sequence[int]] = None,
                 overlap: Union[int, Sequence[int]] = 256,
                 batch_size: int = 1,
                 blend: str = 'uniform',
                 mode: str = 'slide',
                 bands: Optional[Sequence[int]] = None,
                 fp16: bool = False):
        if isinstance(dataloader, dict) and 'pipeline' in dataloader.get(
                'dataset', {}):
            dataloader = copy.deepcopy(dataloader)
            pipeline = dataloader['dataset']['pipeline']
            kept = scene_pipeline(pipeline)
            dropped = [s.get('type') for s in pipeline if s not in kept]
            if dropped:
                print_log(
                    f'SceneTestLoop: test pipeline steps {dropped} left '
                    'out (the loop reads each scene by window)',
                    logger='current')
            dataloader['dataset']['pipeline'] = kept
        super().__init__(runner, dataloader, evaluator, fp16)
        self.options = dict(
            tile=tile,
            overlap=overlap,
            batch_size=batch_size,
            blend=blend,
            mode=mode)
        self.bands = bands
        self._inferencer = None

    def inferencer(self):
        """The inferencer around the runner's (unwrapped) model."""
        if self._inferencer is None:
            from ..apis.large_image import LargeImageInferencer
            from ..apis.large_image_cli import num_classes_of
            model = self.runner.model
            if is_model_wrapper(model):
                model = model.module
            device = str(next(model.parameters()).device)
            self._inferencer = LargeImageInferencer(
                model,
                self.runner.cfg,
                num_classes_of(self.runner.cfg),
                device=device,
                **self.options)
        return self._inferencer

    def predict_scene(self, img_path: str) -> np.ndarray:
        """(H, W) uint8 class map of the raster ``img_path``."""
        from ..apis.large_image_run import scene_rows
        rows = list(scene_rows(self.inferencer(), img_path, self.bands))
        return np.concatenate([strip for _, _, strip in rows])

    @torch.no_grad()
    def run_iter(self, idx, data_batch: dict) -> None:
        """Segment the batch's scenes and feed the evaluator."""
        self.runner.call_hook(
            'before_test_iter', batch_idx=idx, data_batch=data_batch)
        outputs = []
        for sample in data_batch['data_samples']:
            classes = self.predict_scene(sample.img_path)
            sample.pred_sem_seg = PixelData(
                data=torch.from_numpy(classes)[None])
            outputs.append(sample)
        self.evaluator.process(data_samples=outputs, data_batch=data_batch)
        self.runner.call_hook(
            'after_test_iter',
            batch_idx=idx,
            data_batch=data_batch,
            outputs=outputs)


@METRICS.register_module()
class SceneIoUMetric(IoUMetric):
    """mmseg's :class:`~mmseg.evaluation.IoUMetric` over whole scenes.

    Same arguments; ``prefix`` defaults to ``'scene'``. Each prediction
    must cover its whole ground truth (use :class:`SceneTestLoop`).

    Raises:
        ValueError: In ``process``, for a prediction whose (H, W) differs
            from its ground truth's, naming the image.
    """

    def __init__(self, *args, prefix: Optional[str] = 'scene', **kwargs):
        super().__init__(*args, prefix=prefix, **kwargs)

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            pred = tuple(sample['pred_sem_seg']['data'].shape[-2:])
            gt = tuple(sample['gt_sem_seg']['data'].shape[-2:])
            if pred != gt:
                raise ValueError(
                    f'{sample.get("img_path")}: prediction {pred} does not '
                    f'cover the scene {gt}; SceneIoUMetric needs whole-scene '
                    "predictions (test_cfg=dict(type='SceneTestLoop'))")
        super().process(data_batch, data_samples)
