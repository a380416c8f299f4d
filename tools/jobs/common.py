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
        raise RuntimeError(f'no {key!r} in the test summaries under {work_dir}')
    return float(value)
