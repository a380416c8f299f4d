"""The docs' figures, drawn with matplotlib from result files.

:func:`fps_figure` (FPS per row of a benchmark result) and
:func:`scalars_figure` (every logged loss of an mmengine ``scalars.json``
against the iteration), called by :mod:`tools.docs.render`. The same input
gives the same PNG bytes: matplotlib's default style, no pyplot state, no
software tag.
"""
import contextlib
from typing import Iterator, List

from .results import Result


def row_label(row: dict) -> str:
    """``config [backend precision, options]`` of an FPS row."""
    options = row.get('options') or '-'
    extra = '' if options == '-' else f', {options}'
    return f'{row["config"]} [{row["backend"]} {row["dtype"]}{extra}]'


def fps_figure(result: Result, path: str) -> bool:
    """Bars of FPS per row; False (nothing written) without a timed row."""
    rows = [r for r in result.data['rows'] if r.get('fps') is not None]
    if not rows:
        return False
    with _figure(9.0, 1.4 + 0.45 * len(rows)) as (fig, ax):
        labels = [row_label(r) for r in rows][::-1]
        values = [r['fps'] for r in rows][::-1]
        bars = ax.barh(range(len(rows)), values, color='tab:blue')
        ax.set_yticks(range(len(rows)), labels, fontsize=8)
        ax.bar_label(bars, [f'{v:.3f}' for v in values], padding=3, fontsize=8)
        ax.set_xlabel('FPS (img/s), batch / mean latency')
        ax.set_xlim(0, max(values) * 1.2)
        _title(ax, result)
        _save(fig, path)
    return True


def loss_keys(records: List[dict]) -> List[str]:
    """The logged loss keys: ``loss`` first, then the others sorted."""
    keys = sorted({k for r in records for k in r if 'loss' in k})
    return sorted(keys, key=lambda k: (k != 'loss', k))


def scalars_figure(result: Result, path: str) -> bool:
    """Every logged loss against the iteration, and the validation mIoU
    (right axis) where the run evaluated during training."""
    train = result.data['train']
    with _figure(7.5, 4.0) as (fig, ax):
        for key in loss_keys(train):
            points = [(r['step'], r[key]) for r in train if key in r]
            # the total first and thick: a single loss term equals it
            ax.plot(
                *zip(*points),
                label=key,
                linewidth=3.0 if key == 'loss' else 1.2,
                linestyle='-' if key == 'loss' else '--',
                marker='.' if len(points) < 30 else None)
        ax.set_xlabel('iteration')
        ax.set_ylabel('logged loss (window mean)')
        handles, labels = ax.get_legend_handles_labels()
        val = [(r['step'], r['mIoU']) for r in result.data['val']
               if 'mIoU' in r]
        if val:
            # validation during training: mIoU on a second axis
            ax2 = ax.twinx()
            ax2.plot(
                *zip(*val),
                color='tab:red',
                marker='o',
                linewidth=2.0,
                label='val mIoU (%)')
            ax2.set_ylabel('val mIoU (%)')
            ax2.set_ylim(bottom=0)
            more = ax2.get_legend_handles_labels()
            handles, labels = handles + more[0], labels + more[1]
        ax.legend(handles, labels, fontsize=8)
        ax.grid(alpha=0.3)
        _title(ax, result)
        _save(fig, path)
    return True


# matplotlib, the same bytes for the same input ------------------------------


@contextlib.contextmanager
def _figure(width: float, height: float) -> Iterator[tuple]:
    """``(fig, ax)``: a standalone Agg figure in matplotlib's default style
    (no pyplot state, no user rc), to be saved inside the ``with``."""
    import matplotlib.style
    from matplotlib.figure import Figure
    with matplotlib.style.context('default'):
        fig = Figure(figsize=(width, height), dpi=100, layout='constrained')
        yield fig, fig.add_subplot()


def _title(ax, result: Result) -> None:
    meta = result.meta
    ax.set_title(
        f'{result.name}\n{meta["date"]}, {meta["cpu_model"]}, '
        f'torch {meta["torch_version"]}',
        fontsize=9)


def _save(fig, path: str) -> None:
    fig.savefig(path, format='png', metadata={'Software': None})
