"""The main job on the real sample data: train -> test -> submission -> FPS.

Usage::

    python -m tools.main_job [--data-root data] [--jobs sfnet,...]
        [--work-dir work_dirs/main_job] [--overwrite]

Each stage (:mod:`tools.main_job`) writes under ``<work-dir>/<name>``; a
summary of the measured figures (first/last loss, mIoU, FPS tables, ...) is
printed at the end and saved as ``summary.json`` in ``--work-dir``. A stage
whose folder already exists is refused unless ``--overwrite`` is given.
"""
import argparse
import os.path as osp

from tools.main_job import JOBS, format_summary, run_jobs

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


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
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace the results of earlier runs of the chosen stages')
    args = parser.parse_args(argv)
    names = [n for n in args.jobs.split(',') if n]
    unknown = sorted(set(names) - set(JOBS))
    if unknown:
        parser.error(f'unknown --jobs {unknown}; choose from {JOBS}')
    try:
        figures = run_jobs(names, REPO, osp.abspath(args.data_root),
                           osp.abspath(args.work_dir), args.overwrite)
    except FileExistsError as e:
        parser.error(str(e))
    print(format_summary(figures))
    return figures


if __name__ == '__main__':
    main()
