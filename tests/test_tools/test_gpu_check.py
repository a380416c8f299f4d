"""The GPU check's CPU rehearsal (tools/gpu): every step runs in --dry-run."""
import json
import os
import subprocess
import sys
import time

import pytest
import torch
from conftest import REPO, clean_env

from tools.gpu import check
from tools.gpu.infer import MODELS, benchmark_model
from tools.gpu.report import Deadline, MMCVOpTrace, Recorder

SCRIPT = 'tools/gpu/gpu_check.sh'


def run_script(args, **env):
    return subprocess.run(['bash', SCRIPT, *map(str, args)],
                          cwd=REPO,
                          env={
                              **clean_env(), 'PYTHON': sys.executable,
                              'OMP_NUM_THREADS': '1',
                              **env
                          },
                          capture_output=True,
                          text=True)


@pytest.fixture(scope='module')
def dry_run(tmp_path_factory):
    """One whole rehearsal through the shell script; (results, out dir)."""
    out = tmp_path_factory.mktemp('gpu_check')
    # the 8-minute deadline is the GPU's; a busy CI core may need longer
    proc = run_script([out, '--dry-run'], GPU_CHECK_BUDGET_S='3600')
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(out / 'results.json') as f:
        return json.load(f), out


def test_dry_run_records_every_step(dry_run):
    results, out = dry_run
    meta, steps = results['meta'], results['steps']
    assert meta['dry_run'] is True and meta['ok'] is True
    assert meta['device'] == 'cpu' and meta['install'] == 'skipped-dry-run'
    assert list(steps) == list(check.STEPS)
    for name, step in steps.items():
        assert step['status'] == 'done', name
        assert not step.get('errors'), (name, step.get('errors'))
        # our models call no compiled mmcv op: CPU-built ops suffice
        assert step['mmcv_ext_calls'] == {}, name
    assert 'dry run: no install' in (out / 'install.log').read_text()
    log = (out / 'check.log').read_text()
    assert '== inference' in log and 'done: ok' in log
    assert steps['main_model']['skipped'] == 'no --main-checkpoint given'


def test_dry_run_trains_and_resumes_exactly(dry_run):
    steps = dry_run[0]['steps']
    runs = {r['model']: r for r in steps['train']['runs']}
    assert set(runs) == {'sfnet_r18', 'isdnet_r18'}
    for run in runs.values():
        assert len(run['losses']) == check.DRY['train_iters']
        assert all(0 < loss < 100 for loss in run['losses'])
        assert run['iter_per_s'] > 0 and run['device'] == 'cpu'
    res = steps['resume']['result']
    assert res['rng'] == 'torch-cpu' and res['interrupted_after'] == 1
    assert res['resumed'] == dict(
        rng_restored=True,
        weights_max_abs_diff=0.0,
        weights_equal=True,
        end_iter=check.DRY['resume_iters'])
    # the control: without RandomStateHook the state and weights differ
    control = res['resumed_without_hook']
    assert control['rng_restored'] is False
    assert control['weights_max_abs_diff'] > 0


def test_dry_run_inference_rows(dry_run):
    inference = dry_run[0]['steps']['inference']
    rows = {(r['model'], r['path']): r for r in inference['rows']}
    assert set(rows) == {(m.name, p)
                         for m in MODELS
                         for p in check.DRY['rows']}
    assert 'fp16' in inference['dry_run_limits']
    assert not inference.get('skipped')
    for (model, path), row in rows.items():
        spec = next(m for m in MODELS if m.name == model)
        assert row['input'] == '{}x{}'.format(*spec.dry_size)
        assert row['fps'] > 0 and row['finite'], (model, path)
        if path == 'fp32':  # the same computation as the reference
            assert row['max_abs_diff'] == 0.0
        else:  # bf16 rounds, but stays close
            assert 0 < row['max_abs_diff'] < 0.1 * row['ref_abs_max'] + 0.05
            assert row['argmax_agreement'] > 0.5
    assert rows[('sfnet_r18', 'fp32')]['paper'].startswith('26 FPS')


def test_deadline_skips_rows_without_building(tmp_path):
    rec = Recorder(str(tmp_path), {})
    settings = dict(check.DRY, device='cpu', dry_run=True, compile_modes=[])
    settings['row_reserve_s'] = 1
    benchmark_model(MODELS[0], rec, Deadline(time.time() - 1), settings)
    with open(tmp_path / 'results.json') as f:
        saved = json.load(f)
    assert saved['steps']['inference'] == dict(
        skipped=[dict(model='sfnet_r18', reason='deadline')])


def test_recorder_guard_keeps_going(tmp_path):
    rec = Recorder(str(tmp_path), dict(run='x'))
    with rec.guard('inference', 'row a'):
        raise RuntimeError('CUDA out of memory')
    rec.set('inference', 'after', 1)
    with open(tmp_path / 'results.json') as f:
        saved = json.load(f)
    errors = saved['steps']['inference']['errors']
    assert [e['what'] for e in errors] == ['row a']
    assert errors[0]['error'] == 'RuntimeError: CUDA out of memory'
    assert saved['steps']['inference']['after'] == 1
    assert saved['meta'] == dict(run='x')
    assert not [p for p in os.listdir(tmp_path) if p.endswith('.tmp')]


def test_mmcv_op_trace_sees_compiled_ops():
    from mmcv.ops import nms
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.]])
    scores = torch.tensor([0.9, 0.8])
    with MMCVOpTrace() as trace:
        nms(boxes, scores, 0.5)
    assert trace.summary() == {'nms@cpu': 1}
    import mmcv._ext as ext
    assert not hasattr(ext.nms, '__wrapped__') and \
        ext.nms.__name__ == 'nms'  # restored


def test_refusals(tmp_path):
    assert check.main([str(tmp_path / 'o')]) == 2  # no CUDA, no --dry-run
    proc = run_script([])
    assert proc.returncode == 2 and 'usage' in proc.stderr
    proc = run_script([tmp_path / 'o2'], GPU_CHECK_CARRY=tmp_path / 'none')
    assert proc.returncode == 2
    assert f'missing {tmp_path}/none/wheels' in proc.stdout
    with pytest.raises(SystemExit):
        check.parse_args([str(tmp_path), '--meta', 'novalue'])
