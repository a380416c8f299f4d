"""One progress-bar loop for the dataset converters."""
import sys
from typing import Callable, List, Sequence

from mmengine.utils import track_parallel_progress, track_progress


def track(func: Callable, tasks: Sequence, nproc: int = 1) -> List:
    """``[func(task) for task in tasks]`` under mmengine's progress bar.

    Args:
        func (Callable): Applied to each task; must be picklable (a
            module-level function) when ``nproc > 1``.
        tasks (Sequence): The tasks, in order.
        nproc (int): Worker processes; 1 (default) runs in this process.

    Returns:
        list: The results, in task order.

    Raises:
        Exception: Whatever ``func`` raises, after ending the progress bar's
            line, so the error message starts a line of its own.
    """
    try:
        if nproc > 1:
            return track_parallel_progress(func, tasks, nproc)
        return track_progress(func, tasks)
    except BaseException:
        sys.stdout.write('\n')
        sys.stdout.flush()
        raise
