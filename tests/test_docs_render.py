"""``tools.docs``: result files -> the docs' tables and figures.

Small result files written here go through ``python -m tools.docs.render``:
the tables hold the rows, each section is headed by the run's metadata, the
output is byte-for-byte reproducible, and a missing key stops the render
with the file and the key named. The committed results must render too.
"""
import json
import os
import os.path as osp
import sys

import pytest
from conftest import REPO

from tools.docs import record, render
from tools.docs.results import ResultError, find_results, meta_path, sha256_of

META = dict(
    date='2030-01-02T03:04:05Z',
    cpu_model='Test CPU 9000',
    isa_flags=['avx2', 'avx512f'],
    cpu_count=2,
    torch_version='9.9.9+cpu',
    command='python tools/fps_test.py a.py --height 64 --width 128 '
    '--out x.fps.json')
ROWS = [
    dict(
        config='sfnet_small',
        input='64x128',
        batch=1,
        mode='tensor',
        device='cpu',
        backend='pytorch',
        dtype='fp32',
        options='-',
        params=12870000,
        params_m=12.87,
        gflops=60.97,
        latency_mean_ms=1033.25,
        latency_median_ms=1020.0,
        fps=0.9678,
        peak_mem_mib=336.4,
        peak_mem_method='peak RSS growth',
        speedup=1.0),
    dict(
        config='sfnet_small',
        input='64x128',
        batch=1,
        mode='end2end',
        device='cpu',
        backend='onnxruntime',
        dtype='fp32',
        options='-',
        params=12870000,
        params_m=12.87,
        gflops=60.97,
        latency_mean_ms=510.0,
        latency_median_ms=500.0,
        fps=1.9608,
        peak_mem_mib=120.0,
        peak_mem_method='peak RSS growth',
        speedup=2.04),
]
SCALARS = [
    dict(
        lr=0.01, loss=2.9612, **{'decode.loss_ce': 2.9612}, time=2.0, step=10),
    dict(
        lr=0.005, loss=1.7349, **{'decode.loss_ce': 1.7349}, time=1.5,
        step=20),
    dict(aAcc=40.5, mIoU=12.34, mAcc=20.0, data_time=0.1, step=20),
]


def write_json(path, obj, meta=META):
    with open(path, 'w') as f:
        json.dump(obj, f)
    if meta is not None:
        with open(meta_path(str(path)), 'w') as f:
            json.dump(meta, f)
    return str(path)


def write_fps(folder, name='small', meta=META, drop=(), **changes):
    data = dict(args=dict(warmup=1, iters=5, device='cpu'), rows=ROWS)
    data.update(changes)
    for key in drop:
        del data[key]
    return write_json(folder / f'{name}.fps.json', data, meta)


def write_scalars(folder, name='train', records=SCALARS, meta=META):
    path = folder / f'{name}.scalars.json'
    path.write_text(''.join(json.dumps(r) + '\n' for r in records))
    with open(meta_path(str(path)), 'w') as f:
        json.dump(meta, f)
    return str(path)


SAME_LOOP = dict(
    args=dict(dataset='camvid', iters=3, seed=0),
    results=dict(
        ours=dict(
            losses=[2.5, 2.0, 1.5],
            digests=['a', 'b', 'c'],
            summary=dict(
                first=2.5, mean_first20=2.0, mean_last20=2.0, last=1.5),
            val=dict(aAcc=80.123, mIoU=40.5, mAcc=50.0),
            wall_s=12.3),
        official=dict(
            losses=[2.6, 2.2, 1.9],
            digests=['a', 'b', 'c'],
            summary=dict(
                first=2.6, mean_first20=2.2333, mean_last20=2.2333, last=1.9),
            val=dict(aAcc=79.0, mIoU=38.25, mAcc=48.0),
            wall_s=14.0)))


def write_same_loop(folder, name='cmp', data=SAME_LOOP, meta=META):
    return write_json(folder / f'{name}.same_loop.json', data, meta)


def render_dir(tmp_path, results):
    out = tmp_path / 'out'
    render.render(str(results), str(out), model_index=None)
    return out


def test_fps_result_gives_its_rows_under_the_run_header(tmp_path):
    results = tmp_path / 'results'
    results.mkdir()
    path = write_fps(results)
    out = render_dir(tmp_path, results)
    text = (out / 'small.md').read_text()
    assert '- Date: 2030-01-02T03:04:05Z' in text
    assert '- CPU: Test CPU 9000, 2 CPUs' in text
    assert '- ISA flags: avx2 avx512f (checked: avx2 avx512f avx512_vnni' in (
        text)
    assert '- torch: 9.9.9+cpu' in text
    assert f'- Result file: `{osp.normpath(path)}`' in text
    assert '```shell\n' + META['command'] + '\n```' in text
    assert ('| sfnet_small | 64x128 | 1 | tensor | pytorch | fp32 | - | '
            '12.87 | 60.97 | 1020.0 | 1033.2 | 0.968 | 1.00x | 336 |') in text
    assert ('| sfnet_small | 64x128 | 1 | end2end | onnxruntime | fp32 | - | '
            '12.87 | 60.97 | 500.0 | 510.0 | 1.961 | 2.04x | 120 |') in text
    assert 'conv ceiling' not in text.split('\n\n| ')[1]  # no column
    assert '![FPS of small](small.png)' in text
    assert (out / 'small.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert (out / 'fps.md').read_text() == text
    assert (out / 'scalars.md').read_text().startswith('No result')


def test_scalars_result_gives_the_logged_losses_and_metrics(tmp_path):
    results = tmp_path / 'results'
    results.mkdir()
    write_scalars(results)
    out = render_dir(tmp_path, results)
    text = (out / 'train.md').read_text()
    assert '- torch: 9.9.9+cpu' in text
    assert '| Step | lr | loss | decode.loss_ce | Time (s/iter) |' in text
    assert '| 10 | 0.010000 | 2.9612 | 2.9612 | 2.000 |' in text
    assert '| 20 | 0.005000 | 1.7349 | 1.7349 | 1.500 |' in text
    assert '| Step | aAcc | mAcc | mIoU |' in text
    assert '| 20 | 40.50 | 20.00 | 12.34 |' in text
    assert (out / 'train.png').is_file()


def test_same_loop_result_gives_both_runs_and_their_metrics(tmp_path):
    results = tmp_path / 'results'
    results.mkdir()
    write_same_loop(results)
    out = render_dir(tmp_path, results)
    text = (out / 'cmp.md').read_text()
    assert text.startswith('### cmp: same-loop comparison')
    assert '- CPU: Test CPU 9000, 2 CPUs' in text
    assert ('Data: camvid; 3 iterations per variant, seed 0, one run each; '
            'same batches in every run: yes.') in text
    assert ('| ours | 3 | 2.5000 | 2.0000 | 2.0000 | 1.5000 | 40.50 | '
            '80.12 | 50.00 | 12 |') in text
    assert ('| official | 3 | 2.6000 | 2.2333 | 2.2333 | 1.9000 | 38.25 | '
            '79.00 | 48.00 | 14 |') in text
    assert '![Losses of cmp](cmp.png)' in text
    assert (out / 'cmp.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert (out / 'same_loop.md').read_text() == text
    # an iSAID run (no evaluation, other batches) says so
    runs = {
        k: dict(v, val={}, digests=[k])
        for k, v in SAME_LOOP['results'].items()
    }
    write_same_loop(results, data=dict(args=dict(iters=3), results=runs))
    text = (render_dir(tmp_path / 'b', results) / 'cmp.md').read_text()
    assert 'Data: isaid;' in text and 'same batches in every run: no' in text
    assert '| ours | 3 | 2.5000 | 2.0000 | 2.0000 | 1.5000 | n/a | n/a |' in (
        text)


def test_same_loop_moving_mean():
    from tools.docs.same_loop_page import moving_mean
    assert moving_mean([1.0, 3.0, 5.0, 7.0], window=2) == [1.0, 2.0, 4.0, 6.0]


def test_long_log_is_shown_evenly_spaced():
    records = [dict(step=i) for i in range(1, 101)]
    shown = render.spaced(records)
    assert len(shown) == render.MAX_LOG_ROWS
    assert shown[0]['step'] == 1 and shown[-1]['step'] == 100


def test_same_input_gives_the_same_bytes(tmp_path):
    results = tmp_path / 'results'
    results.mkdir()
    write_fps(results)
    write_scalars(results)
    first = render_dir(tmp_path / 'a', results)
    second = render_dir(tmp_path / 'b', results)
    render.render(str(results), str(first), model_index=None)  # re-render
    names = sorted(os.listdir(first))
    assert names == sorted(os.listdir(second))
    assert {'small.md', 'small.png', 'train.md', 'train.png'} <= set(names)
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes()


@pytest.mark.parametrize(
    'make, where, key', [
        (lambda d: write_fps(d, drop=('rows', )), 'small.fps.json', 'rows'),
        (lambda d: write_fps(
            d, rows=[{
                k: v
                for k, v in ROWS[0].items() if k != 'backend'
            }]), 'small.fps.json', 'backend'),
        (lambda d: write_fps(
            d, meta={
                k: v
                for k, v in META.items() if k != 'torch_version'
            }), 'small.fps.meta.json', 'torch_version'),
        (lambda d: write_fps(d, meta=None), 'small.fps.json', 'date'),
        (lambda d: write_scalars(d, records=[dict(lr=0.1, loss=1.0)]),
         'train.scalars.json', 'step'),
        (lambda d: write_scalars(d, records=[dict(lr=0.1, step=1)]),
         'train.scalars.json', 'loss'),
        (lambda d: write_same_loop(d, data=dict(args=dict(iters=3))),
         'cmp.same_loop.json', 'results'),
        (lambda d: write_same_loop(
            d,
            data=dict(
                args=dict(iters=3), results=dict(ours=dict(losses=[1.0])))),
         'cmp.same_loop.json', 'summary'),
    ],
    ids=[
        'fps-rows', 'fps-row-backend', 'meta-torch', 'no-meta', 'scalars-step',
        'scalars-loss', 'same-loop-results', 'same-loop-summary'
    ])
def test_missing_key_names_the_file_and_the_key(tmp_path, make, where, key):
    results = tmp_path / 'results'
    results.mkdir()
    make(results)
    with pytest.raises(ResultError) as e:
        render.render(str(results), str(tmp_path / 'out'), model_index=None)
    assert str(e.value).startswith(str(results / where) + ':')
    assert repr(key) in str(e.value)
    assert not (tmp_path / 'out').exists()  # checked before writing


def test_cli_exits_with_the_error(tmp_path, capsys):
    results = tmp_path / 'results'
    results.mkdir()
    write_fps(results, args={'warmup': 1})
    with pytest.raises(SystemExit) as e:
        render.main([
            '--results',
            str(results), '--out',
            str(tmp_path / 'out'), '--model-index', ''
        ])
    assert e.value.code == 1
    err = capsys.readouterr().err
    assert str(results / 'small.fps.json') in err and "'iters'" in err


def test_a_result_edited_after_its_run_is_refused(tmp_path):
    results = tmp_path / 'results'
    results.mkdir()
    path = write_fps(results)
    with open(meta_path(path), 'w') as f:
        json.dump(dict(META, sha256=sha256_of(path)), f)
    render_dir(tmp_path / 'ok', results)
    with open(path, 'a') as f:
        f.write(' ')
    with pytest.raises(ResultError, match='sha256'):
        render_dir(tmp_path / 'edited', results)


def test_out_folder_of_other_files_is_refused(tmp_path):
    results = tmp_path / 'results'
    results.mkdir()
    write_fps(results)
    out = tmp_path / 'out'
    out.mkdir()
    (out / 'notes.md').write_text('mine')
    with pytest.raises(FileExistsError):
        render.render(str(results), str(out), model_index=None)
    assert (out / 'notes.md').read_text() == 'mine'


def test_record_writes_the_metadata_the_renderer_needs(tmp_path, monkeypatch):
    monkeypatch.setattr(record, 'torch_of', lambda _: ('9.9.9+cpu', 2))
    results = tmp_path / 'results'
    results.mkdir()
    path = str(results / 'run.fps.json')
    data = dict(args=dict(warmup=0, iters=1), rows=ROWS[:1])
    command = [
        sys.executable, '-c',
        f'import json; json.dump({data!r}, open({path!r}, "w"))'
    ]
    meta = record.main([path, '--', *command])
    for key in ('date', 'cpu_model', 'isa_flags', 'torch_version', 'command',
                'sha256'):
        assert key in meta
    assert meta['torch_version'] == '9.9.9+cpu'
    assert meta['sha256'] == sha256_of(path)
    out = render_dir(tmp_path, results)
    assert "import json; json.dump(" in (out / 'run.md').read_text()


def test_record_refuses_a_command_that_wrote_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(record, 'torch_of', lambda _: ('9.9.9+cpu', 2))
    path = str(tmp_path / 'run.fps.json')
    with pytest.raises(FileNotFoundError, match='did not write'):
        record.record(path, [sys.executable, '-c', 'pass'])
    assert not osp.exists(meta_path(path))


def test_model_zoo_lists_every_metafile_config():
    import yaml
    text = render.model_zoo(osp.join(REPO, 'model-index.yml'))
    with open(osp.join(REPO, 'configs', 'glore', 'metafile.yaml')) as f:
        models = yaml.safe_load(f)['Models']
    for model in models:
        assert f'| `{model["Config"]}` |' in text
    assert ('| `configs/glore/glore_r101-d8_4xb2-30k_cityscapes-769x769.py` '
            '| Cityscapes | mIoU 78.4 |') in text


def test_model_zoo_missing_key_names_the_metafile(tmp_path):
    (tmp_path / 'model-index.yml').write_text('Import:\n- m/metafile.yaml\n')
    (tmp_path / 'm').mkdir()
    (tmp_path / 'm' / 'metafile.yaml').write_text(
        'Collections:\n- Name: X\n  README: m/README.md\nModels:\n'
        '- Config: m/x.py\n  Results: {Dataset: D, Metrics: {}}\n'
        '  Metadata: {}\n')
    with pytest.raises(ResultError) as e:
        render.model_zoo(str(tmp_path / 'model-index.yml'))
    assert str(tmp_path / 'm' / 'metafile.yaml') in str(e.value)
    assert "'Results source'" in str(e.value)


def test_committed_results_render(tmp_path):
    folder = osp.join(REPO, 'docs', 'en', 'results')
    out = tmp_path / 'out'
    render.render(folder, str(out), osp.join(REPO, 'model-index.yml'))
    names = [osp.basename(p).split('.')[0] for p in find_results(folder)]
    assert names
    for name in names:
        assert (out / f'{name}.md').is_file()
        assert (out / f'{name}.png').is_file()
