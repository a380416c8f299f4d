"""What every step of the GPU check shares: results file, log, deadline.

The output folder holds few files on purpose (a GPU machine of this
project returns at most 8): ``results.json`` (every step's result, written
again, whole and atomically, after each row, so a killed run still leaves
what was measured), ``check.log`` (the driver's log) and, from
``gpu_check.sh``, ``install.log`` and ``mmcv_build.log``.
"""
import contextlib
import json
import logging
import os
import os.path as osp
import subprocess
import sys
import time
import traceback
from collections import Counter
from typing import Iterator, Optional

from mmseg_ext.utils.atomic_io import atomic_file

RESULTS = 'results.json'
LOG = 'check.log'


class Deadline:
    """Seconds left until an absolute time (``time.time()`` epoch).

    Args:
        end (float): The epoch second by which the whole check must end.
    """

    def __init__(self, end: float):
        self.end = end

    def left(self) -> float:
        """Seconds left (negative once passed)."""
        return self.end - time.time()

    def allows(self, seconds: float) -> bool:
        """True if at least ``seconds`` are left."""
        return self.left() >= seconds


class Recorder:
    """The results of one check, kept in ``<out_dir>/results.json``.

    Args:
        out_dir (str): Output folder (created).
        meta (dict): Run-wide facts (device, versions, arguments) stored
            under ``"meta"``.
    """

    def __init__(self, out_dir: str, meta: dict):
        os.makedirs(out_dir, exist_ok=True)
        self.out_dir = out_dir
        self.path = osp.join(out_dir, RESULTS)
        self.data = dict(meta=meta, steps={})
        self.logger = _make_logger(osp.join(out_dir, LOG))
        self.flush()

    def log(self, message: str) -> None:
        """One line to ``check.log`` and stdout."""
        self.logger.info(message)

    def flush(self) -> None:
        """Write ``results.json`` (atomically: never half-written)."""
        with atomic_file(self.path, 'w') as f:
            json.dump(self.data, f, indent=2, default=_jsonable)

    def step(self, name: str) -> dict:
        """The result dict of step ``name`` (created empty)."""
        return self.data['steps'].setdefault(name, {})

    def set(self, step: str, key: str, value) -> None:
        """``steps[step][key] = value``, then flush."""
        self.step(step)[key] = value
        self.flush()

    def append(self, step: str, key: str, value) -> None:
        """Append ``value`` to the list ``steps[step][key]``, then flush."""
        self.step(step).setdefault(key, []).append(value)
        self.flush()

    @contextlib.contextmanager
    def guard(self, step: str, what: str) -> Iterator[None]:
        """Record an exception raised inside the block under
        ``steps[step]["errors"]`` (type, message, last traceback lines) and
        go on: one broken row never stops the check. ``KeyboardInterrupt``
        and ``SystemExit`` pass through."""
        try:
            yield
        except Exception as e:  # noqa: B902 - every failure is a finding
            tb = traceback.format_exc().strip().splitlines()[-6:]
            self.log(f'{step}/{what}: FAILED {type(e).__name__}: {e}')
            self.append(
                step, 'errors',
                dict(
                    what=what,
                    error=f'{type(e).__name__}: {e}'[:2000],
                    traceback=tb))


def _jsonable(value):
    """JSON fallback: tensors/numpy scalars as numbers, the rest as str."""
    if hasattr(value, 'tolist'):
        return value.tolist()
    return str(value)


def _make_logger(path: str) -> logging.Logger:
    logger = logging.getLogger(f'gpu_check.{path}')
    logger.setLevel(logging.INFO)
    logger.propagate = False
    fmt = logging.Formatter('%(asctime)s %(message)s', '%H:%M:%S')
    for handler in (logging.FileHandler(path),
                    logging.StreamHandler(sys.stdout)):
        handler.setFormatter(fmt)
        logger.addHandler(handler)
    return logger


def _nvidia_smi(field: str) -> Optional[str]:
    """One ``nvidia-smi --query-gpu`` field of GPU 0, None without it."""
    try:
        out = subprocess.run(
            ['nvidia-smi', f'--query-gpu={field}', '--format=csv,noheader'],
            capture_output=True,
            text=True,
            timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip().splitlines()[0] if out.stdout.strip() else None


class MMCVOpTrace:
    """Count the calls into mmcv's compiled extension (``mmcv._ext``).

    mmcv 2.1.0's ops call ``ext_module.<name>(...)`` on the module that
    ``mmcv.utils.ext_loader.load_ext`` returns, which is ``mmcv._ext``
    itself, so wrapping that module's functions sees every call, with the
    device of its first tensor argument. An empty trace after a step means
    the step ran no compiled mmcv op (CPU-built ops suffice for it).
    """

    def __init__(self):
        self.calls: Counter = Counter()
        self._saved = {}

    def __enter__(self) -> 'MMCVOpTrace':
        try:
            import mmcv._ext as ext
        except ImportError:  # mmcv without ops: nothing can be called
            return self
        for name in dir(ext):
            func = getattr(ext, name)
            if name.startswith('_') or not callable(func):
                continue
            self._saved[name] = func
            setattr(ext, name, self._wrap(name, func))
        self._ext = ext
        return self

    def _wrap(self, name: str, func):

        def traced(*args, **kwargs):
            device = next(
                (str(a.device) for a in args if hasattr(a, 'device')), '?')
            self.calls[f'{name}@{device}'] += 1
            return func(*args, **kwargs)

        return traced

    def __exit__(self, *exc) -> None:
        for name, func in self._saved.items():
            setattr(self._ext, name, func)

    def summary(self) -> dict:
        """``{op@device: calls}``."""
        return dict(sorted(self.calls.items()))


def environment(device: str, extra: Optional[dict] = None) -> dict:
    """Device, driver and library versions for ``results.json``'s meta."""
    import mmcv
    import mmengine
    import mmseg
    import torch
    info = dict(
        date_utc=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
        python=sys.version.split()[0],
        torch=torch.__version__,
        torch_cuda=torch.version.cuda,
        mmcv=mmcv.__version__,
        mmengine=mmengine.__version__,
        mmseg=mmseg.__version__,
        device=device,
        cpu_count=os.cpu_count())
    if device.startswith('cuda'):
        props = torch.cuda.get_device_properties(0)
        info.update(
            gpu=torch.cuda.get_device_name(0),
            gpu_memory_gib=props.total_memory / 2**30,
            gpu_capability='.'.join(
                map(str, torch.cuda.get_device_capability(0))),
            cudnn=torch.backends.cudnn.version(),
            driver=_nvidia_smi('driver_version'))
    info.update(extra or {})
    return info
