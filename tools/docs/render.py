"""Render every result file into the Markdown and figures the docs include.

Usage (from the repository root)::

    python -m tools.docs.render [--results docs/en/results]
        [--out docs/en/_generated] [--model-index model-index.yml]

For every result (:mod:`tools.docs.results`) ``<name>.<kind>.json`` it
writes ``<out>/<name>.md``: a section headed by the run's date, CPU model
and ISA flags, torch version and exact command, then the table, and a
figure ``<out>/<name>.png`` (FPS per model and backend; logged losses per
iteration; each variant's loss of a same-loop comparison, drawn by
:mod:`tools.docs.same_loop_page`). ``<out>/fps.md``, ``<out>/scalars.md``
and ``<out>/same_loop.md`` hold all sections of a kind,
``<out>/model_zoo.md`` the published figures of the metafiles that
``--model-index`` imports. ``docs/en/benchmarks.md``,
``docs/en/fidelity.md`` and ``docs/en/model_zoo.md`` include them (MyST
``{include}`` with ``:relative-images:``).

The output depends on the inputs only: the same files give the same bytes
(sorted inputs, fixed number formats, matplotlib's default style, PNGs
without a software tag). ``--out`` belongs to the renderer: files it wrote
before are replaced, and a non-empty folder it did not make is refused.
"""
import argparse
import os
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence

import yaml

from .figures import fps_figure, loss_keys, row_label, scalars_figure
from .int8_page import int8_section
from .results import (ISA_FLAGS, Result, ResultError, find_results,
                      load_result, require)
from .same_loop_page import same_loop_figure, same_loop_section

MARKER = '.written-by-tools-docs-render'
HEADING = '###'
MAX_LOG_ROWS = 20
FAILED = 'n/a'


def fmt(value, digits: int = 2, suffix: str = '') -> str:
    """A table cell: ``n/a`` for a missing value, floats to ``digits``."""
    if value is None:
        return FAILED
    if isinstance(value, float):
        return f'{value:.{digits}f}{suffix}'
    return f'{value}{suffix}'


def table(header: Sequence[str], rows: Sequence[Sequence[str]],
          right: Sequence[bool]) -> List[str]:
    """A Markdown table; ``right`` marks the right-aligned (number)
    columns."""
    return [
        '| ' + ' | '.join(header) + ' |',
        '|' + '|'.join('---:' if r else '---' for r in right) + '|',
        *('| ' + ' | '.join(cells) + ' |' for cells in rows)
    ]


def code_block(text: str) -> List[str]:
    """``text`` in a fenced block longer than any backtick run in it."""
    fence = '```'
    while fence in text:
        fence += '`'
    return [fence + 'shell', text, fence]


def header(result: Result, title: str) -> List[str]:
    """The section heading and the run's metadata: date, CPU model, ISA
    flags, torch version, result file and the command."""
    meta = result.meta
    flags = ' '.join(meta['isa_flags']) or 'none'
    cpus = f', {meta["cpu_count"]} CPUs' if meta.get('cpu_count') else ''
    loads = [(when, meta.get(f'load_average_{when}'))
             for when in ('start', 'end')]
    loads = [f'{load[0]:.2f} at the {when}' for when, load in loads if load]
    load = f'; 1-min load average {", ".join(loads)}' if loads else ''
    threads = meta.get('torch_num_threads')
    threads = f' ({threads} threads)' if threads else ''
    return [
        f'{HEADING} {title}', '', f'- Date: {meta["date"]}',
        f'- CPU: {meta["cpu_model"]}{cpus}{load}',
        f'- ISA flags: {flags} (checked: {" ".join(ISA_FLAGS)})',
        f'- torch: {meta["torch_version"]}{threads}',
        f'- Result file: `{osp.normpath(result.path)}`',
        '- Command (from the repository root):', '',
        *code_block(meta['command']), ''
    ]


def figure_line(name: str, alt: str) -> List[str]:
    return [f'![{alt}]({name}.png)', '']


# fps_test.py results -----------------------------------------------------

FPS_COLUMNS = (
    ('Config', 'config', fmt, False),
    ('Input (HxW)', 'input', fmt, False),
    ('Batch', 'batch', fmt, True),
    ('Mode', 'mode', fmt, False),
    ('Backend', 'backend', fmt, False),
    ('Precision', 'dtype', fmt, False),
    ('Options', 'options', fmt, False),
    ('Params (M)', 'params_m', fmt, True),
    ('GFLOPs/img', 'gflops', fmt, True),
    ('Latency median (ms)', 'latency_median_ms', lambda v: fmt(v, 1), True),
    ('Latency mean (ms)', 'latency_mean_ms', lambda v: fmt(v, 1), True),
    ('FPS (img/s)', 'fps', lambda v: fmt(v, 3), True),
    ('Speed-up vs eager fp32', 'speedup', lambda v: fmt(v, 2, 'x'), True),
    ('Fraction of conv ceiling', 'ceiling_fraction',
     lambda v: fmt(None if v is None else 100 * v, 1, ' %'), True),
    ('Peak mem (MiB)', 'peak_mem_mib', lambda v: fmt(v, 0), True),
)


def fps_section(result: Result, weights: str = 'random weights') -> str:
    """Header, table and notes of a ``tools/fps_test.py`` result
    (``weights``: what the rows ran, for the notes)."""
    args, rows = result.data['args'], result.data['rows']
    lines = header(result, f'{result.name}: speed')
    devices = ', '.join(sorted({str(r['device']) for r in rows}))
    lines += [
        f'Device {devices}; per row {args["warmup"]} untimed warm-up and '
        f'{args["iters"]} timed runs on random input, {weights}.', ''
    ]
    if any(r.get('fps') is not None for r in rows):
        lines += figure_line(result.name, f'FPS of {result.name}')
    # a column no row fills (e.g. the ceiling without --probe-peak) is left
    # out; the identifying text columns always stay
    columns = [
        c for c in FPS_COLUMNS
        if not c[3] or any(row.get(c[1]) is not None for row in rows)
    ]
    lines += table([c[0] for c in columns],
                   [[c[2](row.get(c[1])) for c in columns] for row in rows],
                   [c[3] for c in columns])
    methods = sorted(
        {r['peak_mem_method']
         for r in rows if r.get('peak_mem_method')})
    notes = [
        'GFLOPs per image as mmengine counts them (1 multiply-add = 1 FLOP; '
        'ops it does not support, e.g. `grid_sample` and interpolation, are '
        'not counted). FPS = batch / mean latency. Speed-up: the median '
        'latency of the eager fp32 PyTorch row of the same config / the '
        "row's median."
    ]
    if methods:
        notes.append(f'Peak memory: {"; ".join(methods)}.')
    ceilings = sorted({(r['dtype'], r['ceiling_gflops'])
                       for r in rows if r.get('ceiling_gflops')})
    if ceilings:
        notes.append('Conv ceiling (one 3x3 conv 256->256 on 128x256, '
                     'channels-last, measured in the same run): ' +
                     ', '.join(f'{d} {g:.1f} GFLOP/s'
                               for d, g in ceilings) + '.')
    lines += ['', ' '.join(notes)]
    failed = [r for r in rows if r.get('error')]
    if failed:
        lines += [''] + [
            f'- {row_label(r)} failed: {r["error"]}'.replace('\n', ' ')
            for r in failed
        ]
    return '\n'.join(lines) + '\n'


# mmengine scalars.json ----------------------------------------------------


def spaced(records: List[dict], limit: int = MAX_LOG_ROWS) -> List[dict]:
    """At most ``limit`` records, evenly spaced, first and last kept."""
    if len(records) <= limit:
        return records
    picks = sorted(
        {round(i * (len(records) - 1) / (limit - 1))
         for i in range(limit)})
    return [records[i] for i in picks]


def scalars_section(result: Result) -> str:
    """Header, training and validation tables of an mmengine log."""
    train, val = result.data['train'], result.data['val']
    keys = loss_keys(train)
    lines = header(result, f'{result.name}: training log')
    shown = spaced(train)
    lines += [
        f'{len(train)} logged training iterations (steps '
        f'{train[0]["step"]}-{train[-1]["step"]}); values as mmengine '
        "logs them (moving means over its LogProcessor's window)" +
        (f', {len(shown)} of them shown' if len(shown) < len(train) else '') +
        '.', ''
    ]
    lines += figure_line(result.name, f'Losses of {result.name}')
    lines += table(['Step', 'lr', *keys, 'Time (s/iter)'], [[
        fmt(r['step']),
        fmt(r.get('lr'), 6), *(fmt(r.get(k), 4) for k in keys),
        fmt(r.get('time'), 3)
    ] for r in shown], [True] * (3 + len(keys)))
    if val:
        metrics = sorted({
            k
            for r in val
            for k in r if k not in ('step', 'time', 'data_time')
        })
        lines += ['', 'Evaluation:', '']
        lines += table(['Step', *metrics],
                       [[fmt(r['step']), *(fmt(r.get(k)) for k in metrics)]
                        for r in val], [True] * (1 + len(metrics)))
    return '\n'.join(lines) + '\n'


# the published figures of the metafiles -----------------------------------


def metric_cell(metrics: Dict[str, float]) -> str:
    """``mIoU 78.26 / mIoU(flip) 78.61``; ``-`` without a figure."""
    return ' / '.join(f'{k} {v}' for k, v in metrics.items()) or '-'


def model_zoo(model_index: str) -> str:
    """One table per collection of the metafiles ``model_index`` imports:
    every config, its dataset, the published metric and its source.

    Raises:
        ResultError: For a missing key, naming the file and the key.
    """
    with open(model_index) as f:
        index = yaml.safe_load(f)
    require(index, ('Import', ), model_index)
    root = osp.dirname(model_index)
    lines = [
        'Figures published by the authors or their official code, as '
        'recorded in each `configs/<model>/metafile.yaml` (`Results source`'
        '): reported, not reproduced. No checkpoint is released.', ''
    ]
    for meta_file in index['Import']:
        path = osp.join(root, meta_file)
        with open(path) as f:
            doc = yaml.safe_load(f)
        require(doc, ('Collections', 'Models'), path)
        (coll, ) = doc['Collections']
        require(coll, ('Name', 'README'), path, 'Collections[0]')
        lines += [
            f'{HEADING} {coll["Name"]}', '', f'README: `{coll["README"]}`.' +
            (f' Paper: [{coll["Paper"]["Title"]}]({coll["Paper"]["URL"]}).'
             if coll.get('Paper') else ''), ''
        ]
        cells = []
        for i, model in enumerate(doc['Models']):
            where = f'Models[{i}]'
            require(model, ('Config', 'Results', 'Metadata'), path, where)
            require(model['Results'], ('Dataset', 'Metrics'), path,
                    f'{where}.Results')
            require(model['Metadata'], ('Results source', ), path,
                    f'{where}.Metadata')
            cells.append([
                f'`{model["Config"]}`', model['Results']['Dataset'],
                metric_cell(model['Results']['Metrics']),
                model['Metadata']['Results source']
            ])
        lines += table(['Config', 'Dataset', 'Published metric', 'Source'],
                       cells, [False] * 4) + ['']
    return '\n'.join(lines)


# writing ------------------------------------------------------------------

SECTIONS: Dict[str, Callable[[Result], str]] = {
    'fps': fps_section,
    'scalars': scalars_section,
    'same_loop': same_loop_section,
    'int8': int8_section
}
FIGURES: Dict[str, Callable[[Result, str], bool]] = {
    'fps': fps_figure,
    'scalars': scalars_figure,
    'same_loop': same_loop_figure,
    'int8': fps_figure
}
EMPTY = 'No result of this kind under `{}`.\n'


def prepare_out(out: str) -> None:
    """Make ``out`` the renderer's folder, emptied of what it wrote before.

    Raises:
        FileExistsError: If ``out`` holds files and no marker of ours.
    """
    if osp.isdir(out) and os.listdir(out) and not osp.isfile(
            osp.join(out, MARKER)):
        raise FileExistsError(
            f'{out} holds files the renderer did not write: give an empty '
            'or new --out folder')
    os.makedirs(out, exist_ok=True)
    for name in os.listdir(out):
        if name.endswith(('.md', '.png')):
            os.remove(osp.join(out, name))
    with open(osp.join(out, MARKER), 'w') as f:
        f.write('Generated by python -m tools.docs.render; do not edit.\n')


def render(results: str,
           out: str,
           model_index: Optional[str] = 'model-index.yml') -> List[str]:
    """Render every result of ``results`` (and the model zoo of
    ``model_index``, unless None) into ``out``; return the written paths.

    Every input is read and checked before ``out`` is touched.

    Raises:
        ResultError: See :mod:`tools.docs.results` and :func:`model_zoo`.
    """
    loaded = [load_result(p) for p in find_results(results)]
    names = [r.name for r in loaded]
    for name in sorted(set(names)):
        if names.count(name) > 1:
            raise ResultError(
                results, f'two results named {name!r}: their pages would '
                'overwrite each other')
    sections = {r.name: SECTIONS[r.kind](r) for r in loaded}
    zoo = model_zoo(model_index) if model_index else None
    prepare_out(out)
    written = []

    def write(name: str, text: str) -> None:
        path = osp.join(out, name)
        with open(path, 'w') as f:
            f.write(text)
        written.append(path)

    for result in loaded:
        write(f'{result.name}.md', sections[result.name])
        figure = osp.join(out, f'{result.name}.png')
        if FIGURES[result.kind](result, figure):
            written.append(figure)
    for kind in sorted(SECTIONS):
        texts = [sections[r.name] for r in loaded if r.kind == kind]
        write(f'{kind}.md',
              '\n'.join(texts) if texts else EMPTY.format(results))
    if zoo is not None:
        write('model_zoo.md', zoo)
    return written


def main(argv: Optional[List[str]] = None) -> List[str]:
    parser = argparse.ArgumentParser(
        prog='python -m tools.docs.render', description=__doc__.split('\n')[0])
    parser.add_argument('--results', default=osp.join('docs', 'en', 'results'))
    parser.add_argument('--out', default=osp.join('docs', 'en', '_generated'))
    parser.add_argument(
        '--model-index',
        default='model-index.yml',
        help="the model zoo's index ('' to skip the model zoo page)")
    args = parser.parse_args(argv)
    try:
        written = render(args.results, args.out, args.model_index or None)
    except (ResultError, FileExistsError) as e:
        parser.exit(1, f'error: {e}\n')
    print(f'{len(written)} files written to {args.out}')
    return written


if __name__ == '__main__':
    main()
