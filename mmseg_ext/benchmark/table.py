"""The benchmark's Markdown table and its ``--out`` file."""
import json
from typing import List, Optional

from mmseg_ext.utils.atomic_io import atomic_file

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


def format_table(rows: List[dict]) -> str:
    """Render benchmark rows as a Markdown table with a footnote."""
    lines = [
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
        lines[-1] += (' Conv ceiling (3x3 conv 256->256 on 128x256, '
                      f'channels-last): {", ".join(ceilings)}.')
    return '\n'.join(lines)


def write_results(out: str,
                  rows: List[dict],
                  args: Optional[dict] = None) -> None:
    """Write ``rows`` to ``out`` atomically: JSON (``args`` and ``rows``) if
    ``out`` ends with ``.json``, else the Markdown table."""
    with atomic_file(out, 'w') as f:
        if out.endswith('.json'):
            json.dump(dict(args=args, rows=rows), f, indent=2)
        else:
            f.write(format_table(rows) + '\n')
