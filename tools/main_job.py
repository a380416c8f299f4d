"""The main job on the real sample data: train -> test -> submission -> FPS.

Every stage runs the commands a user types (``mim train mmseg``,
``mim test mmseg_ext``, ``tools/fps_test.py``) on the real samples linked
under ``data/`` (``bash tools/link_data.sh ../shared/data``). One stage per
model family lives in ``tools/jobs/<name>.py``:

- ``sfnet``: SFNet-R18 on Cityscapes, including the ``--format-only``
  Cityscapes server submission (see :mod:`jobs.sfnet`);
- ``pfnet``: iSAID preparation, then PFNet-R50 on iSAID (:mod:`jobs.pfnet`);
- ``isdnet``: DeepGlobe and Inria preparation, ISDNet on both, FPS and peak
  memory at 2448x2448 next to DeepLabv3-R18 (:mod:`jobs.isdnet`);
- ``pointrend``: Semantic FPN + PointRend R50 on Cityscapes with its
  submission, predict-path FPS (:mod:`jobs.pointrend`);
- ``graph_heads``: GloRe and GINet R50 heads on Cityscapes
  (:mod:`jobs.graph_heads`).

Usage::

    python tools/main_job.py [--data-root data] [--jobs sfnet,...]
        [--work-dir work_dirs/main_job]

Each stage writes under ``<work-dir>/<name>``; a summary of the measured
figures (first/last loss, mIoU, FPS tables, ...) is printed at the end and
saved as ``summary.json`` in ``--work-dir``.
"""
import argparse
import importlib
import json
import os.path as osp
import shutil
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from jobs.common import REPO, read_losses, read_metric, run  # noqa: E402,F401
from jobs.sfnet import (
    R18,
    R18_TEST,
    R50,  # noqa: E402,F401
    short_test_options,
    short_train_options)

JOBS = ('sfnet', 'pfnet', 'isdnet', 'pointrend', 'graph_heads')


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--data-root',
        default=osp.join(REPO, 'data'),
        help='folder holding cityscapes/, isaid/, ... samples')
    parser.add_argument(
        '--work-dir', default=osp.join(REPO, 'work_dirs', 'main_job'))
    parser.add_argument(
        '--jobs',
        default=','.join(JOBS),
        help=f'comma-separated stages out of {JOBS}')
    args = parser.parse_args(argv)

    names = [n for n in args.jobs.split(',') if n]
    unknown = sorted(set(names) - set(JOBS))
    if unknown:
        parser.error(f'unknown --jobs {unknown}; choose from {JOBS}')
    data_root = osp.abspath(args.data_root)
    work = osp.abspath(args.work_dir)
    if osp.exists(work):
        shutil.rmtree(work)
    summary = {}
    for name in names:
        job = importlib.import_module(f'jobs.{name}')
        summary[name] = job.run_job(osp.join(work, name), data_root)
        with open(osp.join(work, 'summary.json'), 'w') as f:
            json.dump(summary, f, indent=2)
    for name, figures in summary.items():
        print(f'== {name}')
        for key, value in figures.items():
            if not key.endswith('table'):
                print(f'  {key}: {value}')
        for key, value in figures.items():
            if key.endswith('table'):
                print(value)
    return summary


if __name__ == '__main__':
    main()
