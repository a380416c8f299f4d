"""Run the command that produces a result and write the result's metadata.

Usage (from the repository root)::

    python -m tools.docs.record RESULT [--copy-from GLOB] -- COMMAND ...

``COMMAND`` runs as given (no shell). Then ``RESULT`` must exist and be
newer than the start; with ``--copy-from`` the newest file matching
``GLOB`` written by the command is copied to ``RESULT`` first (mmengine's
``<work_dir>/<timestamp>/vis_data/scalars.json``). The sidecar
``RESULT`` -> ``<stem>.meta.json`` (:func:`tools.docs.results.meta_path`)
gets what the pages head every table with: the start ``date`` (UTC), the
``cpu_model`` (``lscpu``'s "Model name") and its ``isa_flags`` among
:data:`~tools.docs.results.ISA_FLAGS`, the ``torch_version`` and thread
count of the command's interpreter, the ``command`` line, the CPU count,
the load average at the start and at the end, the duration, and the
result's ``sha256``
(the renderer refuses a result edited afterwards). Example::

    nice -n 10 python -m tools.docs.record \\
        docs/en/results/sfnet_r18_512x1024_cpu.fps.json -- \\
        python tools/fps_test.py \\
        configs/sfnet/sfnet_r18-d32_4xb2-50k_cityscapes-512x1024.py \\
        --height 512 --width 1024 --device cpu --warmup 1 --iters 5 \\
        --out docs/en/results/sfnet_r18_512x1024_cpu.fps.json
"""
import argparse
import glob
import json
import os
import os.path as osp
import platform
import shlex
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from typing import List, Optional, Tuple

from .results import ISA_FLAGS, meta_path, result_kind, sha256_of

TORCH_PROBE = ('import json, torch; print(json.dumps([torch.__version__, '
               'torch.get_num_threads()]))')


def cpu_model_and_flags() -> Tuple[str, List[str]]:
    """``lscpu``'s "Model name" and the CPU flags of :data:`ISA_FLAGS` it
    lists, in that order (``/proc/cpuinfo`` where ``lscpu`` is missing)."""
    fields = {}
    try:
        out = subprocess.run(['lscpu'],
                             capture_output=True,
                             text=True,
                             env={
                                 **os.environ, 'LC_ALL': 'C'
                             },
                             check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        with open('/proc/cpuinfo') as f:
            out = f.read()
    for line in out.splitlines():
        key, found, value = line.partition(':')
        if found:
            fields.setdefault(key.strip().lower(), value.strip())
    flags = set(fields.get('flags', '').split())
    return (fields.get('model name',
                       platform.processor() or 'unknown'),
            [flag for flag in ISA_FLAGS if flag in flags])


def interpreter_of(command: List[str]) -> str:
    """The Python that ``command`` runs: its first word if that is a
    ``python*`` executable, else this interpreter (e.g. ``mim`` of the same
    environment)."""
    first = command[0]
    if osp.basename(first).startswith('python'):
        return shutil.which(first) or first
    return sys.executable


def torch_of(interpreter: str) -> Tuple[str, Optional[int]]:
    """``(torch.__version__, torch.get_num_threads())`` as ``interpreter``
    sees them; ``('not installed', None)`` if it cannot import torch."""
    proc = subprocess.run([interpreter, '-c', TORCH_PROBE],
                          capture_output=True,
                          text=True)
    if proc.returncode != 0:
        return 'not installed', None
    version, threads = json.loads(proc.stdout.strip().splitlines()[-1])
    return version, threads


def cpu_count() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def newest_match(pattern: str, since: float) -> str:
    """The newest file matching ``pattern`` modified after ``since``.

    Raises:
        FileNotFoundError: If there is none.
    """
    found = [
        p for p in glob.glob(pattern, recursive=True)
        if osp.isfile(p) and osp.getmtime(p) >= since
    ]
    if not found:
        raise FileNotFoundError(
            f'the command wrote no file matching {pattern}')
    return max(found, key=osp.getmtime)


def record(result: str,
           command: List[str],
           copy_from: Optional[str] = None) -> dict:
    """Run ``command``, then write and return the metadata of ``result``.

    Raises:
        subprocess.CalledProcessError: If ``command`` fails (no metadata is
            written).
        FileNotFoundError: If ``result`` (or ``copy_from``) was not
            written by the command.
    """
    result_kind(result)  # a name the renderer knows, before the long run
    model, flags = cpu_model_and_flags()
    version, threads = torch_of(interpreter_of(command))
    load = [round(x, 2) for x in os.getloadavg()]
    date = datetime.now(timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
    start = time.time()
    subprocess.run(command, check=True)
    duration = time.time() - start
    load_end = [round(x, 2) for x in os.getloadavg()]
    if copy_from:
        shutil.copyfile(newest_match(copy_from, start), result)
    if not osp.isfile(result) or osp.getmtime(result) < start:
        raise FileNotFoundError(
            f'the command did not write {result} (pass the same path to its '
            '--out, or --copy-from the file it writes)')
    meta = dict(
        result=osp.basename(result),
        sha256=sha256_of(result),
        date=date,
        duration_s=round(duration, 1),
        cpu_model=model,
        isa_flags=flags,
        cpu_count=cpu_count(),
        load_average_start=load,
        load_average_end=load_end,
        torch_version=version,
        torch_num_threads=threads,
        python_version=platform.python_version(),
        command=shlex.join(command))
    if copy_from:
        meta['copied_from'] = copy_from
    with open(meta_path(result), 'w') as f:
        json.dump(meta, f, indent=2, sort_keys=True)
        f.write('\n')
    return meta


def main(argv: Optional[List[str]] = None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    if '--' not in argv:
        argv = argv + ['--']
    split = argv.index('--')
    parser = argparse.ArgumentParser(
        prog='python -m tools.docs.record',
        usage='%(prog)s RESULT [--copy-from GLOB] -- COMMAND ...',
        description=__doc__.split('\n')[0])
    parser.add_argument('result', help='the result file the command writes')
    parser.add_argument(
        '--copy-from',
        help='copy the newest file matching this glob (written by the '
        'command) to RESULT, e.g. WORK_DIR/*/vis_data/scalars.json')
    args = parser.parse_args(argv[:split])
    command = argv[split + 1:]
    if not command:
        parser.error('give the command after --')
    try:
        result_kind(args.result)
    except ValueError as e:
        parser.error(str(e))
    meta = record(args.result, command, args.copy_from)
    print(f'metadata written to {meta_path(args.result)}')
    return meta


if __name__ == '__main__':
    main()
