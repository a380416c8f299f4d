"""What a benchmark ran on: CPU model, cores, ISA flags, runtime versions.

A CPU timing means little without the machine: oneDNN (torch, OpenVINO)
and ONNX Runtime's MLAS pick their convolution kernels by ISA, so the same
bf16 or int8 model is several times faster on a CPU with AMX than on one
with AVX512-BF16 / AVX512-VNNI only, and slower than fp32 on one without
either. :func:`run_meta` gathers what fps_test's table header and JSON
``meta`` give: the date, the CPU model, CPUs and threads used, the ISA
flags of :data:`ISA_FLAGS` (as Linux ``lscpu`` / ``/proc/cpuinfo`` spell
them), the torch / ONNX Runtime / OpenVINO versions and the command line.
The keys ``date``, ``cpu_model``, ``isa_flags``, ``torch_version`` and
``command`` are those ``tools.docs.results.META_KEYS`` reads from a
result's embedded ``meta``.
"""
import os
import platform
import shlex
import subprocess
from datetime import datetime, timezone
from importlib import metadata
from typing import Dict, List, Optional, Sequence, Tuple

import torch

# Linux flag name -> name in the table; the flags that decide which CPU
# kernels torch (oneDNN), OpenVINO and ONNX Runtime (MLAS) run
ISA_FLAGS = {
    'avx2': 'AVX2',
    'avx512f': 'AVX512F',
    'avx512_vnni': 'AVX512-VNNI',
    'avx_vnni': 'AVX-VNNI',
    'avx512_bf16': 'AVX512-BF16',
    'amx_bf16': 'AMX-BF16',
    'amx_int8': 'AMX-INT8',
    'amx_tile': 'AMX-TILE',
}
RUNTIMES = ('torch', 'onnxruntime', 'openvino')
UNKNOWN_CPU = 'unknown CPU'


def parse_cpu_text(text: str) -> Tuple[Optional[str], List[str]]:
    """The CPU model and the :data:`ISA_FLAGS` present, from ``lscpu``
    (``LC_ALL=C``) or ``/proc/cpuinfo`` text.

    The first ``Model name`` / ``model name`` line gives the model; the
    first ``Flags`` / ``flags`` line the flags (x86; other architectures
    have no such line and give no flag).

    Args:
        text (str): The tool's output or the file's contents.

    Returns:
        tuple: ``(model or None, [flags of ISA_FLAGS present, in its
        order])``.
    """
    fields: Dict[str, str] = {}
    for line in text.splitlines():
        key, found, value = line.partition(':')
        if found:
            fields.setdefault(key.strip().lower(), value.strip())
    flags = set(fields.get('flags', '').split())
    return fields.get('model name') or None, [
        flag for flag in ISA_FLAGS if flag in flags
    ]


def read_cpu(lscpu: str = 'lscpu',
             cpuinfo: str = '/proc/cpuinfo') -> Tuple[str, List[str], str]:
    """This machine's CPU model, :data:`ISA_FLAGS` present and where they
    were read: ``lscpu``, else ``/proc/cpuinfo``, else (no Linux)
    :func:`platform.processor` with no flags.

    Args:
        lscpu (str): The ``lscpu`` executable.
        cpuinfo (str): The ``/proc/cpuinfo`` file.

    Returns:
        tuple: ``(model, flags, source)``; ``model`` is
        :data:`UNKNOWN_CPU` when nothing names it.
    """
    try:
        text = subprocess.run([lscpu],
                              capture_output=True,
                              text=True,
                              env={
                                  **os.environ, 'LC_ALL': 'C'
                              },
                              timeout=30,
                              check=True).stdout
        source = 'lscpu'
    except (OSError, subprocess.SubprocessError):
        try:
            with open(cpuinfo) as f:
                text, source = f.read(), cpuinfo
        except OSError:
            text, source = '', 'platform'
    model, flags = parse_cpu_text(text)
    if model is None:
        model = platform.processor() or platform.machine() or UNKNOWN_CPU
    return model, flags, source


def runtime_versions() -> Dict[str, Optional[str]]:
    """Versions of :data:`RUNTIMES` (``None`` for one not installed), read
    from the installed distributions (nothing is imported)."""
    versions = {}
    for name in RUNTIMES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    versions['torch'] = torch.__version__  # the one running, '+cpu' etc.
    return versions


def cpu_count() -> int:
    """CPUs this process may run on (its affinity mask on Linux)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


#: The command line users type, shown in the header (text, never opened).
FPS_TEST_COMMAND = 'python tools/fps_test.py'


def command_line(argv: Sequence[str]) -> str:
    """``python tools/fps_test.py ARGV...``, shell-quoted."""
    return FPS_TEST_COMMAND + ''.join(' ' + shlex.quote(str(a)) for a in argv)


def utc_now() -> str:
    """The time now, UTC, ISO 8601 to the second (``...Z``)."""
    return datetime.now(timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def run_meta(argv: Sequence[str],
             ceilings: Optional[dict] = None,
             precision_choices: Optional[dict] = None,
             date: Optional[str] = None) -> dict:
    """The ``meta`` of one fps_test run (see the module docstring).

    Args:
        argv (Sequence[str]): fps_test's arguments, for ``command``.
        ceilings (dict, optional): :func:`~.peak.probe_ceilings`' result.
        precision_choices (dict, optional): ``--precision auto``'s choice
            per backend (:func:`~.precision.choose_precision`).
        date (str, optional): The run's start (:func:`utc_now`); default
            now.

    Returns:
        dict: ``date`` (UTC, ISO 8601), ``cpu_model``, ``cpu_source``,
        ``cpu_count``, ``torch_num_threads`` (the threads every row uses),
        ``isa_flags`` (Linux names), ``isa_flags_checked``,
        ``torch_version``, ``versions``, ``command``, ``ceilings`` (or
        ``None``) and, given, ``precision_choices``.
    """
    model, flags, source = read_cpu()
    versions = runtime_versions()
    meta = dict(
        date=date or utc_now(),
        cpu_model=model,
        cpu_source=source,
        cpu_count=cpu_count(),
        torch_num_threads=torch.get_num_threads(),
        isa_flags=flags,
        isa_flags_checked=list(ISA_FLAGS),
        torch_version=versions['torch'],
        versions=versions,
        command=command_line(argv),
        ceilings=ceilings)
    if precision_choices:
        meta['precision_choices'] = precision_choices
    return meta


def describe_isa(flags: Sequence[str]) -> str:
    """``AVX2 AVX512F ... (no AMX-BF16, AMX-INT8)``: the present flags in
    table spelling, then the absent ones."""
    present = [ISA_FLAGS[f] for f in ISA_FLAGS if f in flags]
    absent = [ISA_FLAGS[f] for f in ISA_FLAGS if f not in flags]
    text = ' '.join(present) or 'none of the checked flags'
    return text + (f' (no {", ".join(absent)})' if absent else '')


def format_ceilings(ceilings: Optional[dict]) -> str:
    """One line of conv ceilings: ``fp32 94.5 (torch), ... GFLOP/s``."""
    if not ceilings:
        return 'not probed (--probe-peak)'
    parts = []
    for precision, entry in ceilings['gflops'].items():
        detail = ceilings['runtimes'][precision]
        if len(detail) > 1:
            runtime = ', '.join(f'{name} {value:.1f}'
                                for name, value in detail.items())
            runtime = f'best of {runtime}'
        else:
            runtime = next(iter(detail))
        parts.append(f'{precision} {entry:.1f} ({runtime})')
    skipped = [f'{p}: {why}' for p, why in ceilings.get('skipped', {}).items()]
    return (f'{ceilings["probe"]}: ' + ', '.join(parts) + ' GFLOP/s' +
            (f'; not probed: {"; ".join(skipped)}' if skipped else ''))


def format_header(meta: dict) -> List[str]:
    """The lines above fps_test's table: date, CPU, ISA, versions,
    ceilings, ``--precision auto`` choices and the command."""
    versions = ', '.join(f'{name} {version or "not installed"}'
                         for name, version in meta['versions'].items())
    lines = [
        f'- Date: {meta["date"]}',
        f'- CPU: {meta["cpu_model"]} ({meta["cpu_count"]} CPUs, '
        f'{meta["torch_num_threads"]} threads used; from '
        f'{meta["cpu_source"]})',
        f'- ISA: {describe_isa(meta["isa_flags"])}',
        f'- Runtimes: {versions}',
        f'- Conv ceilings: {format_ceilings(meta.get("ceilings"))}',
    ]
    for backend, choice in (meta.get('precision_choices') or {}).items():
        lines.append(f'- Precision auto, {backend}: {choice["precision"]} '
                     f'({choice["why"]})')
    lines.append(f'- Command: `{meta["command"]}`')
    return lines
