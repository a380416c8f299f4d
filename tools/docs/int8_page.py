"""The docs' section of an int8 / bf16 benchmark result.

A ``<name>.int8.json`` (:func:`tools.docs.results.load_int8`, written by
:mod:`tools.benchmarks.int8_table`) is one ``tools/fps_test.py`` run (eager
fp32, the fp32 exports, OpenVINO bf16, the int8 graphs of ONNX Runtime and
OpenVINO) plus the accuracy gate of every reduced precision on real images
with a trained checkpoint. :func:`int8_section` gives the run header, the
speed-ups that matter for choosing a precision (against eager fp32 and
against the fastest fp32 backend), the accuracy table, then the full
``fps_test`` table.
"""
from typing import List, Optional

from .results import Result

SUMMARY = ('Row', 'Median (ms)', 'vs eager fp32', 'vs best fp32 backend',
           'Argmax agreement', 'fp32 mIoU', 'mIoU', 'Drop (points)',
           'Gate (max drop)')


def _key(row: dict) -> str:
    return f'{row["backend"]}:{row["dtype"]}'


def _ratio(reference: Optional[float], value: Optional[float]) -> str:
    if not reference or not value:
        return 'n/a'
    return f'{reference / value:.2f}x'


def speed_rows(rows: List[dict]) -> dict:
    """``{backend:precision: median ms}`` of the rows that ran."""
    return {
        _key(r): r['latency_median_ms']
        for r in rows if r.get('latency_median_ms')
    }


def summary_table(result: Result) -> List[str]:
    """One line per row: its median, its speed-up over eager fp32 and over
    the fastest fp32 export, and its gate where it has one."""
    from .render import fmt, table
    medians = speed_rows(result.data['rows'])
    eager = medians.get('pytorch:fp32')
    fp32 = [
        v for k, v in medians.items()
        if k.endswith(':fp32') and not k.startswith('pytorch')
    ]
    best_fp32 = min(fp32) if fp32 else None
    gates = result.data['accuracy']['gates']
    cells = []
    for key, median in medians.items():
        gate = gates.get(key)
        cells.append([
            key,
            fmt(median, 1),
            _ratio(eager, median),
            _ratio(best_fp32, median) if key != 'pytorch:fp32' else '-',
        ] + ([
            fmt(100 * gate['argmax_agreement'], 2, ' %'),
            fmt(gate['fp32'], 2),
            fmt(gate[key.split(':')[1]], 2),
            fmt(gate['fp32'] - gate[key.split(':')[1]], 2),
            f'{"passed" if gate["passed"] else "failed"} '
            f'({gate["max_drop"]})',
        ] if gate else ['-'] * 5))
    return table(SUMMARY, cells, [False] + [True] * 8)


def int8_section(result: Result) -> str:
    """Header, summary with accuracy, and the full fps_test table."""
    from .render import fps_section, header
    acc = result.data['accuracy']
    gates = acc['gates']
    first = next(iter(gates.values())) if gates else {}
    lines = header(result, f'{result.name}: reduced precision')
    lines += [
        f'Checkpoint: `{acc["checkpoint"]}`, trained on {acc["trained"]}. '
        'The accuracy columns compare each reduced-precision row with the '
        'fp32 PyTorch model on the same real images '
        f'({first.get("num_images", "n/a")} images of the '
        f'{first.get("split", "val")} split, resized to the input size): '
        'mIoU (%) and the fraction of pixels whose predicted class is the '
        'same. The speed rows come from one run of `tools/fps_test.py` '
        f'(command `{result.meta.get("fps_command", "n/a")}`); the eager '
        'row runs random weights, the export rows the checkpoint\'s '
        '(a row\'s speed does not depend on the values of its weights).', ''
    ]
    lines += summary_table(result)
    body = fps_section(
        result, 'random weights in eager PyTorch, the checkpoint\'s in '
        'the exports').split('\n')
    # the fps_test table without its own header (already given above)
    start = next(
        (i for i, line in enumerate(body) if line.startswith('Device ')), 0)
    lines += ['', 'The full `fps_test` table of the run:', ''] + body[start:]
    return '\n'.join(lines).rstrip('\n') + '\n'
