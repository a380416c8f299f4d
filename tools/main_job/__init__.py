"""The main job on the real sample data: train -> test -> submission -> FPS.

Every stage runs the commands a user types (``mim train mmseg``,
``mim test mmseg_ext``, ``tools/fps_test.py``, the dataset converters) from
the repository root on the real samples linked under ``data/``
(``bash tools/link_data.sh ../shared/data``). Each model family is one
:class:`~.stage.Stage` description (``build``) and its summary
(``figures``); :func:`~.stage.run_stage` is the one cycle that runs them:

- ``camvid``: SFNet-R18 trained from scratch on CamVid train, tested on
  val, its predictions drawn: the main job's model (:mod:`.camvid`);
- ``deploy``: that checkpoint exported to ONNX, evaluated on CamVid val
  through ONNX Runtime and OpenVINO (fp32, bf16), every backend timed
  (:mod:`.deploy`; needs ``camvid`` first);
- ``int8``: that checkpoint quantized for OpenVINO (NNCF) and ONNX Runtime,
  its accuracy gate, val mIoU and speed next to fp32 (:mod:`.int8`; needs
  ``camvid`` first);
- ``sfnet``: SFNet-R18 on the Cityscapes sample, including the
  ``--format-only`` Cityscapes server submission (:mod:`.sfnet`);
- ``pfnet``: iSAID preparation, then PFNet-R50 on iSAID (:mod:`.pfnet`);
- ``isdnet``: DeepGlobe and Inria preparation, ISDNet on both, FPS and peak
  memory at 2448x2448 next to DeepLabv3-R18 (:mod:`.isdnet`);
- ``pointrend``: Semantic FPN + PointRend R50 on Cityscapes with its
  submission, predict-path FPS (:mod:`.pointrend`);
- ``graph_heads``: GloRe and GINet R50 heads on Cityscapes
  (:mod:`.graph_heads`).

``python -m tools.main_job`` is the command line over :func:`run_jobs`.
"""
import importlib
import json
import os.path as osp
import shutil
from typing import Dict, List

from mmseg_ext.utils.atomic_io import atomic_file
from .stage import run_stage

JOBS = ('camvid', 'deploy', 'int8', 'sfnet', 'pfnet', 'isdnet', 'pointrend',
        'graph_heads')


def check_work_dirs(work: str, names: List[str], overwrite: bool) -> None:
    """Make room for the stages ``names`` under ``work``.

    Earlier results are only removed with ``overwrite``.

    Raises:
        FileExistsError: If a stage folder exists and not ``overwrite``
            (the message names the folders).
    """
    existing = [
        osp.join(work, name) for name in names
        if osp.exists(osp.join(work, name))
    ]
    if existing and not overwrite:
        raise FileExistsError(
            f'earlier main-job results in {", ".join(existing)}: pass '
            '--overwrite to replace them, or choose another --work-dir')
    for folder in existing:
        shutil.rmtree(folder)


def run_jobs(names: List[str],
             repo: str,
             data_root: str,
             work: str,
             overwrite: bool = False) -> Dict[str, dict]:
    """Run the stages ``names`` under ``work`` (``<work>/<name>`` each),
    commands from ``repo``; return ``{name: figures}``.

    ``<work>/summary.json`` is updated after each stage (the figures of
    stages not run now are kept).

    Raises:
        ValueError: For a name not in :data:`JOBS`.
        FileExistsError: See :func:`check_work_dirs`.
    """
    unknown = sorted(set(names) - set(JOBS))
    if unknown:
        raise ValueError(f'unknown jobs {unknown}; choose from {JOBS}')
    check_work_dirs(work, names, overwrite)
    summary_path = osp.join(work, 'summary.json')
    summary = {}
    if osp.isfile(summary_path):
        with open(summary_path) as f:
            summary = json.load(f)
    figures = {}
    for name in names:
        job = importlib.import_module(f'{__name__}.{name}')
        stage_dir = osp.join(work, name)
        result = run_stage(
            job.build(repo, data_root, stage_dir), stage_dir, repo)
        figures[name] = summary[name] = job.figures(result)
        with atomic_file(summary_path, 'w') as f:
            json.dump(summary, f, indent=2)
    return figures


def format_summary(figures: Dict[str, dict]) -> str:
    """The figures as the main job prints them: per stage its scalars, then
    its tables."""
    lines = []
    for name, values in figures.items():
        lines.append(f'== {name}')
        lines += [
            f'  {key}: {value}' for key, value in values.items()
            if not key.endswith('table')
        ]
        lines += [
            value for key, value in values.items() if key.endswith('table')
        ]
    return '\n'.join(lines)
