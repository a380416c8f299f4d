"""The docs' section and figure of a same-loop comparison result.

A ``<name>.same_loop.json`` (:func:`tools.docs.results.load_same_loop`)
holds the per-iteration loss of each variant trained in one mmseg loop
(:mod:`tools.fidelity.same_loop`) and, for CamVid runs, the validation
metrics at the end. :func:`same_loop_section` gives the run header, a table
of the loss summaries and metrics per variant and whether both runs saw the
same batches; :func:`same_loop_figure` draws every variant's loss curve
(each iteration thin, a moving mean of :data:`WINDOW` thick).
"""
from typing import List

from .figures import _figure, _save, _title
from .results import Result

WINDOW = 20
COLUMNS = ('Variant', 'Iterations', 'First loss', f'Mean of first {WINDOW}',
           f'Mean of last {WINDOW}', 'Last loss', 'val mIoU', 'val aAcc',
           'val mAcc', 'Wall (s)')


def _cell(value, digits: int) -> str:
    return 'n/a' if value is None else f'{value:.{digits}f}'


def moving_mean(values: List[float], window: int = WINDOW) -> List[float]:
    """Trailing mean over at most ``window`` values, one per value."""
    out, total = [], 0.0
    for i, value in enumerate(values):
        total += value
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def same_batches(result: Result) -> str:
    """``yes``/``no`` (label digests of every batch equal in every run), or
    ``not recorded``."""
    digests = [r.get('digests') for r in result.data['results'].values()]
    if len(digests) < 2 or any(d is None for d in digests):
        return 'not recorded'
    return 'yes' if all(d == digests[0] for d in digests) else 'no'


def same_loop_section(result: Result) -> str:
    """Header, per-variant table and notes of a same-loop result."""
    # the page helpers of every kind live in render, which imports this
    from .render import figure_line, header, table
    args, runs = result.data['args'], result.data['results']
    dataset = args.get('dataset', 'isaid')
    lines = header(result, f'{result.name}: same-loop comparison')
    lines += [
        f'Data: {dataset}; {args["iters"]} iterations per variant, seed '
        f'{args.get("seed", "n/a")}, one run each; same batches in every '
        f'run: {same_batches(result)}. Losses as the loop computed them '
        '(every iteration, no smoothing); validation metrics (%) at the '
        'end of training where the run evaluated.', ''
    ]
    lines += figure_line(result.name, f'Losses of {result.name}')
    rows = []
    for variant, run in runs.items():
        summary, val = run['summary'], run.get('val') or {}
        rows.append([
            variant,
            str(len(run['losses'])),
            *(_cell(summary.get(k), 4)
              for k in ('first', 'mean_first20', 'mean_last20', 'last')),
            *(_cell(val.get(k), 2) for k in ('mIoU', 'aAcc', 'mAcc')),
            _cell(run.get('wall_s'), 0)
        ])
    lines += table(COLUMNS, rows, [False] + [True] * (len(COLUMNS) - 1))
    return '\n'.join(lines) + '\n'


def same_loop_figure(result: Result, path: str) -> bool:
    """Every variant's loss per iteration and its moving mean."""
    runs = result.data['results']
    with _figure(7.5, 4.0) as (fig, ax):
        for i, (variant, run) in enumerate(runs.items()):
            color = f'C{i}'
            steps = range(1, len(run['losses']) + 1)
            val = (run.get('val') or {}).get('mIoU')
            label = variant + ('' if val is None else f' (val mIoU {val:.2f})')
            ax.plot(
                steps, run['losses'], color=color, linewidth=0.6, alpha=0.4)
            ax.plot(
                steps,
                moving_mean(run['losses']),
                color=color,
                linewidth=2.0,
                label=f'{label}, mean of {WINDOW}')
        ax.set_xlabel('iteration')
        ax.set_ylabel('training loss')
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        _title(ax, result)
        _save(fig, path)
    return True
