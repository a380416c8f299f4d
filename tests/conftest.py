"""Shared test fixtures: repository paths and the real sample data.

The sample data (real Cityscapes/iSAID/... crops) is never copied into the
repository. It is found, in order, at ``$MMSEG_EXT_DATA``, ``<repo>/data``
(``.ci/run`` links ``../shared/data/*`` there) and ``<repo>/../shared/data``.
"""
import hashlib
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest

#: The repository root, defined here only: test modules import it
#: (``from conftest import REPO``) or take the :func:`repo_root` fixture.
REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TESTS = osp.join(REPO, 'tests')
VENV_BIN = osp.dirname(sys.executable)


def is_deploy_or_base_config(path: str) -> bool:
    """True for a config under ``configs/_base_`` or ``configs/deploy``.

    Those are bases and deploy configs (backend settings, see
    ``mmseg_ext/deploy``), not model configs: no model, no dataset, no
    metafile entry.
    """
    rel = osp.relpath(osp.abspath(path), osp.join(REPO, 'configs'))
    return rel.split(os.sep)[0] in ('_base_', 'deploy')


def clean_env() -> dict:
    """``os.environ`` without ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``.

    Subprocesses must load checkpoints with torch's ``weights_only=True``
    default, as users' commands do (``import mmseg_ext`` allow-lists what
    mmengine checkpoints hold).
    """
    env = dict(os.environ)
    env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
    return env


def run_command(cmd, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``cmd`` (items made ``str``) from the repository root.

    Uses :func:`clean_env`, captures stdout/stderr as text.

    Raises:
        AssertionError: If ``check`` and the command exits non-zero; the
            message holds the command and the last 3000 characters of its
            stdout and stderr.
    """
    proc = subprocess.run([str(c) for c in cmd],
                          cwd=REPO,
                          env=clean_env(),
                          capture_output=True,
                          text=True)
    if check and proc.returncode != 0:
        raise AssertionError(
            f'{" ".join(map(str, cmd))} failed ({proc.returncode}):\n'
            f'{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}')
    return proc


def max_abs_diff(name: str, ours, ref) -> float:
    """Max abs difference of two same-shape tensors, printed with ``name``
    and the reference's magnitude (parity tests report it; run ``-s``)."""
    assert ours.shape == ref.shape, (name, ours.shape, ref.shape)
    diff = (ours - ref).abs().max().item()
    print(f'{name}: max abs diff {diff:.3e} (|ref| max '
          f'{ref.abs().max().item():.3f})')
    return diff


def tree_snapshot(folder) -> dict:
    """``{relative path: (size, mtime_ns, sha256, mode)}`` of every file
    under ``folder``: equal snapshots mean no file was added, removed,
    rewritten, touched or re-moded (e.g. a converter's source)."""
    snap = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = osp.join(root, name)
            st = os.stat(path)
            with open(path, 'rb') as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            snap[osp.relpath(path, folder)] = (st.st_size, st.st_mtime_ns,
                                               digest, st.st_mode)
    return snap


def _data_root() -> str:
    for cand in (os.environ.get('MMSEG_EXT_DATA'), osp.join(REPO, 'data'),
                 osp.join(REPO, '..', 'shared', 'data')):
        if cand and osp.isdir(osp.join(cand, 'cityscapes')):
            return osp.abspath(cand)
    raise RuntimeError(
        'real sample data not found: set MMSEG_EXT_DATA or link '
        '../shared/data/* into data/ (see README)')


@pytest.fixture(scope='session')
def repo_root() -> str:
    """:data:`REPO`, the repository root."""
    return REPO


@pytest.fixture(scope='session')
def data_root() -> str:
    return _data_root()


@pytest.fixture(scope='session')
def cityscapes_root(data_root) -> str:
    return osp.realpath(osp.join(data_root, 'cityscapes'))


@pytest.fixture(scope='session')
def camvid_root(data_root) -> str:
    """The CamVid release (``train/``, ``trainannot/``, ``val/``,
    ``valannot/``) of the sample data."""
    root = osp.realpath(osp.join(data_root, 'camvid'))
    if not osp.isdir(osp.join(root, 'valannot')):
        raise RuntimeError(f'CamVid not found at {root} (see the data README)')
    return root


@pytest.fixture(scope='session')
def camvid_model(tmp_path_factory, worker_id, camvid_root) -> dict:
    """SFNet-R18 trained from scratch on a CamVid subset, once per test
    session (:mod:`camvid_subset`): ``config``, ``checkpoint``,
    ``data_root``, ``metrics`` and ``untrained_metrics`` (val mIoU, aAcc,
    per-class IoU after and before training).

    Under pytest-xdist the workers share one run: the first to ask trains
    under a file lock in the session's common temporary folder, the others
    wait and read its ``result.json``.
    """
    import json

    import camvid_subset
    from filelock import FileLock
    base = tmp_path_factory.getbasetemp()
    if worker_id != 'master':
        base = base.parent  # shared by this session's workers only
    work = base / 'camvid_model'
    with FileLock(str(base / 'camvid_model.lock')):
        done = work / 'result.json'
        if not done.exists():
            work.mkdir(exist_ok=True)
            result = camvid_subset.train_and_score(str(work), camvid_root)
            done.write_text(json.dumps(result))
        return json.loads(done.read_text())


@pytest.fixture(scope='session')
def mim() -> str:
    """The ``mim`` executable of the environment running the tests."""
    exe = osp.join(VENV_BIN, 'mim')
    if not osp.exists(exe):
        exe = shutil.which('mim')
    if exe is None:
        raise RuntimeError('mim not found next to the test interpreter')
    return exe


@pytest.fixture
def one_thread():
    """Run the test with one torch intra-op thread.

    On a busy 2-core box OpenMP spin-waiting makes multi-threaded convs and
    forwards up to ~10x slower. Use with
    ``pytestmark = pytest.mark.usefixtures('one_thread')``.
    """
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def repo_root_one_thread(monkeypatch, one_thread):
    """:func:`one_thread`, run from the repository root (configs given
    relative to it, as users type them)."""
    monkeypatch.chdir(REPO)


@pytest.fixture(autouse=True, scope='session')
def _registered():
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    import mmseg_ext  # noqa: F401


def _onnx_export_unsupported():
    from mmseg_ext.deploy.exporting import onnx_export_unsupported
    return onnx_export_unsupported()


#: Marks a test that exports through ``export_onnx``: skipped, with the
#: reason, on torch < 2.6 (the oldest stack), which lacks the exporter's
#: features (:mod:`mmseg_ext.deploy.exporting`).
needs_onnx_export = pytest.mark.skipif(
    _onnx_export_unsupported() is not None,
    reason=str(_onnx_export_unsupported()))

# Test tiers: markers registered in setup.cfg (``--strict-markers``), given
# here in one place from where a test lives; explicit
# ``@pytest.mark.<tier>`` decorators work as well. ``pytest -m "not slow"``
# is the fast tier; the full suite (CI) runs every tier.

#: Folder or file (relative to ``tests/``) -> markers of every test in it.
TIER_PATHS = {
    'test_e2e/': ('e2e', 'slow'),
    'test_deploy/': ('export', ),
    'test_stacks/': ('stack', ),
    'test_docs.py': ('docs', 'slow'),
    'test_benchmark/test_fps_backends.py': ('export', ),
    # trains/tests through mim or the runner on the real sample
    'test_deploy/test_backend_eval.py': ('e2e', 'slow'),
    'test_reliability/test_resume.py': ('e2e', 'slow'),
    'test_reliability/test_fault_tolerance.py': ('e2e', 'slow'),
    'test_stacks/test_efficientnet_e2e.py': ('e2e', 'slow'),
    'test_stacks/test_multinode.py': ('e2e', 'slow'),
    'test_zoo/test_tta.py': ('e2e', 'slow'),
}

#: Tests measured over ~5 s (setup + call, ``--durations=0`` on the 2-core
#: box): a file (each of its tests, e.g. where a module fixture trains or
#: exports), ``file::test`` (each of its parameters) or one full node id,
#: relative to ``tests/``. Re-measure and update when a test grows.
SLOW = (
    'test_apis/test_large_image_export.py',
    'test_apis/test_large_image_dist.py',
    'test_apis/test_large_image_scene.py::'
    'test_scene_loop_scores_the_stitched_scene',
    'test_apis/test_large_image_exact.py::'
    'test_uniform_blend_equals_mmseg_slide_inference',
    'test_deploy/test_quantize_gate.py',
    'test_deploy/test_quantize.py::test_family_int8_runs_on_both_runtimes',
    'test_reliability/test_deploy_strict.py::'
    'test_mismatched_checkpoint_is_refused_partial_load_opt_in',
    'test_reliability/test_deploy_strict.py::'
    'test_export_identity_is_compared_with_the_config',
    'test_reliability/test_resume_mismatch.py::'
    'test_meta_that_is_no_dict_is_refused_by_the_model_builder',
    'test_tools/test_gpu_check.py::test_dry_run_records_every_step',
    'test_tools/test_gpu_check.py::test_dry_run_trains_and_resumes_exactly',
    'test_tools/test_gpu_check.py::test_dry_run_inference_rows',
    'test_bad_input.py::test_labels_outside_classes_name_the_label_file',
    'test_configs/test_semsegpaddle_configs.py::'
    'test_build_with_bn_loss_and_predict',
    'test_configs/test_shared_bases.py::test_one_backbone_per_model_base',
    'test_datasets/test_preparation/test_converter_scripts.py',
    'test_datasets/test_deepglobe.py::test_cli_runs_as_script',
    'test_datasets/test_pascal_context.py::'
    'test_mmseg_datasets_load_through_config_pipelines',
    'test_deploy/test_bf16_contract.py',
    'test_deploy/test_deploy_cli.py::'
    'test_dynamic_openvino_export_checked_at_two_sizes',
    'test_deploy/test_export_families.py',
    'test_benchmark/test_fps_backends.py::test_backends_in_one_table',
    'test_benchmark/test_fps_backends.py::'
    'test_keep_going_reports_a_failed_export',
    'test_deploy/test_index_arithmetic.py::'
    'test_index_arithmetic_exact_after_export',
    'test_lint.py::test_lint_clean[flake8-args0]',
    'test_lint.py::test_lint_clean[yapf-args2]',
    'test_models/test_ckpt_convert/test_engine.py::test_cli_scripts_are_thin',
    'test_models/test_decode_heads/test_glore_head.py::'
    'test_configs_follow_the_published_recipes',
    'test_models/test_decode_heads/test_pointrend.py::'
    'test_cascade_model_from_config_loss_and_predict',
    'test_models/test_necks/test_sf_neck_head.py::'
    'test_dsn_losses_and_gradients',
    'test_fidelity/test_sfnet_parity.py::test_cli_missing_source',
    'test_reliability/test_atomic_checkpoint.py::'
    'test_killed_save_leaves_previous_checkpoint_last',
    'test_reliability/test_atomic_checkpoint.py::'
    'test_without_the_hook_the_checkpoint_is_truncated',
    'test_datasets/test_preparation/test_converter_leftovers.py::'
    'test_inria_and_pascal_context_missing_input_one_line_exit_1',
    'test_datasets/test_preparation/test_converter_leftovers.py::'
    'test_isaid_error_on_its_own_line',
    'test_datasets/test_preparation/test_converter_leftovers.py::'
    'test_isaid_rerun_removes_its_stale_parts_only',
    'test_reliability/test_eval_label_check.py::'
    'test_mmseg_head_config_training_names_the_file',
    'test_reliability/test_sample_checks.py::'
    'test_size_mismatch_refused_by_mim_train',
    'test_reliability/test_strict_load.py::'
    'test_matching_checkpoint_tests_and_partial_load_is_opt_in',
    'test_reliability/test_strict_load.py::'
    'test_r18_checkpoint_with_r50_config_is_refused',
    'test_benchmark/test_fps_test.py::test_probe_peak_fraction_and_progress',
    'test_benchmark/test_fps_test.py::test_script_is_the_package_cli',
    'test_models/test_ckpt_convert/test_isdnet2mmseg.py::test_cli_bad_sources',
    'test_benchmark/test_isdnet_fps.py::test_isdnet_and_baseline_in_one_table',
    'test_datasets/test_preparation/test_make_class_embeddings.py::'
    'test_cli_output_loads_into_the_ginet_head',
    # the last two share a module fixture that runs the CLI
    'test_fidelity/test_make_golden.py::'
    'test_builders_import_without_official_code',
    'test_fidelity/test_make_golden.py::test_cli_without_official_code',
    'test_fidelity/test_make_golden.py::test_cli_unknown_builder',
    'test_fidelity/test_init_glore_ginet.py::'
    'test_init_follows_paddle_defaults',
    'test_fidelity/test_init_isdnet.py::'
    'test_isdnet_r18_init_follows_official_rules',
    'test_fidelity/test_init_sfnet.py::'
    'test_sfnet_r18_init_follows_official_rules',
    'test_zoo/test_offline.py::test_build_and_init_every_config_offline',
)


def _selects(key: str, entry: str) -> bool:
    """Whether ``entry`` (a folder/, file, ``file::test`` or a node id)
    covers the node id ``key`` (both relative to ``tests/``)."""
    if entry.endswith('/'):
        return key.startswith(entry)
    return key == entry or key.startswith((entry + '::', entry + '['))


def _onnx_export_mark(item) -> bool:
    return any(mark == needs_onnx_export.mark for mark in item.iter_markers())


def pytest_collection_modifyitems(config, items):
    """Add the tier markers: by folder/file (:data:`TIER_PATHS`), ``export``
    on every test skipped without ONNX export (:data:`needs_onnx_export`),
    ``slow`` from :data:`SLOW`."""
    for item in items:
        rel = osp.relpath(str(item.path), TESTS).replace(os.sep, '/')
        key = '::'.join([rel] + item.nodeid.split('::')[1:])
        names = set()
        for entry, markers in TIER_PATHS.items():
            if _selects(key, entry):
                names.update(markers)
        if _onnx_export_mark(item):
            names.add('export')
        if any(_selects(key, entry) for entry in SLOW):
            names.add('slow')
        for name in sorted(names):
            item.add_marker(name)
