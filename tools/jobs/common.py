"""What every main-job stage needs: running commands, reading mmengine logs."""
import json
import os
import os.path as osp
import subprocess
import sys
from typing import List

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MIM = osp.join(osp.dirname(sys.executable), 'mim')
FPS_TEST = osp.join(REPO, 'tools', 'fps_test.py')


def run(cmd: List[str]) -> None:
    """Run ``cmd`` from the repository root, echoing it; raise on failure."""
    print('+', ' '.join(cmd), flush=True)
    subprocess.run(cmd, cwd=REPO, check=True)


def fps_table(configs: List[str], out: str, height: int, width: int,
              iters: int, *extra: str) -> str:
    """Time ``configs`` with ``tools/fps_test.py`` on CPU; return its table.

    One warm-up pass, then ``iters`` timed ones at ``height`` x ``width``;
    ``extra`` options (e.g. ``'--mode', 'predict'``) go before the size. The
    Markdown table is also written to ``out``.
    """
    run([
        sys.executable, FPS_TEST, *configs, *extra, '--height',
        str(height), '--width',
        str(width), '--device', 'cpu', '--warmup', '1', '--iters',
        str(iters), '--out', out
    ])
    with open(out) as f:
        return f.read()


def short_run_options(data_root: str, iters: int) -> List[str]:
    """``--cfg-options`` every stage's short CPU training run shares.

    ``data_root`` for the train/val/test dataloaders, no worker processes,
    ``iters`` iterations with one validation and one checkpoint at the end,
    a log line per iteration, and the first ``param_scheduler`` entry ending
    at ``iters``. Stages add their pipeline sizes and data prefixes.
    """
    return [
        f'train_dataloader.dataset.data_root={data_root}',
        f'val_dataloader.dataset.data_root={data_root}',
        f'test_dataloader.dataset.data_root={data_root}',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        f'train_cfg.max_iters={iters}',
        f'train_cfg.val_interval={iters}',
        f'default_hooks.checkpoint.interval={iters}',
        'default_hooks.logger.interval=1',
        f'param_scheduler.0.end={iters}',
    ]


def short_test_run_options(data_root: str) -> List[str]:
    """``--cfg-options`` every stage's ``mim test`` shares: ``data_root``
    for the test dataloader, no worker processes."""
    return [
        f'test_dataloader.dataset.data_root={data_root}',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False',
    ]


def read_losses(work_dir: str, key: str = 'loss') -> List[float]:
    """Logged training losses, in order, from ``vis_data/scalars.json``.

    These are mmengine's moving means over the last 10 iterations
    (``LogProcessor(window_size=10)``), as the training log shows them.
    """
    losses = []
    for root, _, files in os.walk(work_dir):
        if 'scalars.json' in files and root.endswith('vis_data'):
            with open(osp.join(root, 'scalars.json')) as f:
                for line in f:
                    rec = json.loads(line)
                    if key in rec and 'lr' in rec:
                        losses.append(float(rec[key]))
    return losses


def read_metric(work_dir: str, key: str) -> float:
    """The last value of ``key`` in any ``<timestamp>.json`` test summary."""
    value = None
    for root, _, files in os.walk(work_dir):
        for name in sorted(files):
            if name.endswith('.json') and name[:8].isdigit():
                with open(osp.join(root, name)) as f:
                    rec = json.load(f)
                value = rec.get(key, value)
    if value is None:
        raise RuntimeError(
            f'no {key!r} in the test summaries under {work_dir}')
    return float(value)
