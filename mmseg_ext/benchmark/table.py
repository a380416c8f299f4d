"""The benchmark's Markdown table and its ``--out`` file.

Given the run's ``meta`` (:func:`~.hardware.run_meta`), the table is headed
by what it ran on (date, CPU, threads, ISA flags, runtime versions, conv
ceilings, ``--precision auto`` choices, command) and the JSON file keeps
that ``meta`` next to ``args`` and ``rows``.
"""
import json
from typing import List, Optional

from mmseg_ext.utils.atomic_io import atomic_file
from .hardware import format_header

COLUMNS = [('config', 'Config'), ('input', 'Input (HxW)'), ('batch', 'Batch'),
           ('mode', 'Mode'), ('device', 'Device'), ('backend', 'Backend'),
           ('dtype', 'Precision'), ('options', 'Options'),
           ('params_m', 'Params (M)'), ('gflops', 'GFLOPs/img'),
           ('latency_mean_ms', 'Latency mean (ms)'),
           ('latency_median_ms', 'Latency median (ms)'),
           ('fps', 'FPS (img/s)'), ('speedup', 'Speed-up vs eager fp32'),
           ('ceiling_fraction', 'Fraction of conv ceiling'),
           ('peak_mem_mib', 'Peak mem (MiB)*')]
TEXT_COLUMNS = ('config', 'input', 'mode', 'device', 'backend', 'dtype',
                'options')


def _fmt(value) -> str:
    if value is None:
        return 'n/a'
    return f'{value:.2f}' if isinstance(value, float) else str(value)


def format_table(rows: List[dict], meta: Optional[dict] = None) -> str:
    """Render benchmark rows as a Markdown table with a footnote, headed by
    :func:`~.hardware.format_header` of ``meta`` if given."""
    lines = (format_header(meta) + ['']) if meta else []
    lines += [
        '| ' + ' | '.join(title for _, title in COLUMNS) + ' |',
        '|' + '|'.join('---' if key in TEXT_COLUMNS else '---:'
                       for key, _ in COLUMNS) + '|'
    ]
    lines += [
        '| ' + ' | '.join(_fmt(row.get(key)) for key, _ in COLUMNS) + ' |'
        for row in rows
    ]
    methods = sorted({row['peak_mem_method'] for row in rows})
    lines += [
        '', f'\\* Peak memory: {"; ".join(methods)}, from model build '
        '(backends: session creation) to the end of timing. GFLOPs per '
        'image (mmengine analysis of the PyTorch model, 1 multiply-add = 1 '
        'FLOP); FPS = batch / mean latency. Speed-up: median latency of '
        'the eager fp32 PyTorch row of the same config and run / this '
        "row's median. Fraction of conv ceiling: GFLOPs x batch / median "
        "latency / the measured ceiling of the row's precision "
        '(--probe-peak; n/a without it).'
    ]
    ceilings = sorted({
        f'{row["dtype"]} {row["ceiling_gflops"]:.1f} GFLOP/s'
        for row in rows if row.get('ceiling_gflops')
    })
    if ceilings:
        lines[-1] += (' Conv ceilings of these rows (fastest runtime of a '
                      f'3x3 conv, see above): {", ".join(ceilings)}.')
    return '\n'.join(lines)


def write_results(out: str,
                  rows: List[dict],
                  args: Optional[dict] = None,
                  meta: Optional[dict] = None) -> None:
    """Write ``rows`` to ``out`` atomically: JSON (``meta``, ``args`` and
    ``rows``) if ``out`` ends with ``.json``, else the Markdown table."""
    with atomic_file(out, 'w') as f:
        if out.endswith('.json'):
            json.dump(dict(meta=meta, args=args, rows=rows), f, indent=2)
        else:
            f.write(format_table(rows, meta) + '\n')
