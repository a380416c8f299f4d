"""``--precision auto``: the fastest precision whose accuracy gate passed.

A reduced precision is worth timing only where the model keeps its
accuracy and the CPU runs it fast. The accuracy gates come from the
export's ``deploy.json`` (written by ``tools/deploy/deploy.py``;
:func:`read_gates`); the speed from the conv ceilings probed in the same
run (:func:`~.peak.probe_ceilings`), which already show what this ISA does
with each precision (bf16 several times fp32 on AMX, about 2x with
AVX512-BF16, slower than fp32 where it is emulated; int8 fastest with VNNI
or AMX). :func:`choose_precision` keeps, per backend, the precisions that

1. the backend runs (:data:`BACKEND_PRECISIONS`),
2. this CPU has instructions for (bf16: AVX512-BF16 or AMX-BF16,
   :data:`ISA_NEEDS`),
3. have their model file (int8: the quantized export),
4. passed their accuracy gate (fp32, the exported graph itself, needs
   none), measured on a CPU with the same instructions for that precision
   where the gate records its CPU's flags (``isa`` or ``isa_flags``, as
   :func:`mmseg_ext.deploy.quantize_gate.cpu_info` writes them),

and picks the one with the highest ceiling on the backend's runtime. Every
refused precision gets its reason; the choice and the reasons are printed
and kept in the result's ``meta``. OpenVINO's precision stays explicit: the
choice is passed as its inference precision hint.
"""
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from .hardware import ISA_FLAGS

#: precisions each backend row can run, fp32 first
BACKEND_PRECISIONS = {
    'pytorch': ('fp32', 'bf16'),
    'onnxruntime': ('fp32', 'int8'),
    'openvino': ('fp32', 'bf16', 'int8'),
}
#: Linux CPU flags that run a precision natively (any one of them)
ISA_NEEDS = {'bf16': ('avx512_bf16', 'amx_bf16')}
#: flags that decide a precision's kernels (a gate measured with other
#: ones was measured on other arithmetic)
ISA_KERNELS = {
    'bf16': ('avx512_bf16', 'amx_bf16'),
    'int8': ('avx512_vnni', 'avx_vnni', 'amx_int8'),
}
GATED = ('bf16', 'fp16', 'int8')
PRECISION_KEYS = ('fp32', ) + GATED


def _walk(node, context: Tuple[Optional[str], Optional[str]],
          names: Sequence[str]) -> Iterator[Tuple[str, str, dict]]:
    backend, precision = context
    if not isinstance(node, dict):
        return
    backend = node.get('backend', backend) if isinstance(
        node.get('backend'), str) else backend
    precision = node.get('precision', precision) if isinstance(
        node.get('precision'), str) else precision
    if isinstance(node.get('passed'), bool):
        if backend in names and precision in GATED:
            yield backend, precision, node
        return
    for key, value in node.items():
        b, _, p = str(key).partition(':')
        sub = (b if b in names else backend, p if p in PRECISION_KEYS else
               (key if key in PRECISION_KEYS else precision))
        if key == 'quantization':
            sub = (backend, 'int8')  # its entries are int8 unless named
        yield from _walk(value, sub, names)


def read_gates(
    deploy_info: dict, names: Sequence[str] = tuple(BACKEND_PRECISIONS)
) -> Dict[Tuple[str, str], dict]:
    """The accuracy gates of a ``deploy.json``: ``{(backend, precision):
    gate}``.

    A gate is any object with a boolean ``passed``. Its backend and
    precision are its own ``backend`` / ``precision`` strings, else the
    nearest enclosing ones: an object's ``backend`` / ``precision``
    values, or a key that names a backend (``openvino``), a precision
    (``int8``) or both (``openvino:int8``); entries under
    ``quantization`` are int8 unless they name another precision. So
    ``{"quantization": {"openvino": {"gate": {"passed": true}}}}``,
    ``{"quantization": {"gates": {"onnxruntime:int8": {...}}}}`` and
    ``{"backend": "openvino", "precision": "bf16", "gate": {...}}`` all
    give a gate. Gates without a backend in ``names`` or a reduced
    precision are ignored (fp32 is never gated).
    """
    return {
        (b, p): gate
        for b, p, gate in _walk(deploy_info, (None, None), names)
    }


@dataclass
class Choice:
    """The outcome of ``--precision auto`` for one backend."""
    backend: str
    precision: str
    why: str
    #: precision -> why it was refused, or its ceiling (GFLOP/s)
    candidates: Dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return dict(
            precision=self.precision,
            why=self.why,
            candidates=dict(self.candidates))


def _isa_names(flags: Sequence[str]) -> str:
    return ' '.join(ISA_FLAGS[f] for f in flags) or 'none'


def refusal(backend: str, precision: str, gates: Dict[Tuple[str, str], dict],
            isa_flags: Sequence[str], missing: Dict[str,
                                                    str]) -> Optional[str]:
    """Why ``precision`` may not run on ``backend`` here (``None``: it
    may). See the module docstring for the checks, in that order."""
    if precision not in BACKEND_PRECISIONS.get(backend, ()):
        return f'{backend} has no {precision} rows'
    needs = ISA_NEEDS.get(precision)
    if needs and not set(needs) & set(isa_flags):
        return (f'this CPU has no {" / ".join(ISA_FLAGS[f] for f in needs)}'
                ' (emulated, slower than fp32)')
    if precision in missing:
        return missing[precision]
    if precision not in GATED:
        return None
    gate = gates.get((backend, precision))
    if gate is None:
        return 'no accuracy gate for it in deploy.json'
    if not gate['passed']:
        detail = ', '.join(f'{k} {v}' for k, v in gate.items()
                           if k != 'passed' and isinstance(v, (int, float)))
        return 'its accuracy gate failed' + (f' ({detail})' if detail else '')
    kernels = ISA_KERNELS.get(precision, ())
    recorded = gate.get('isa_flags', gate.get('isa'))
    if isinstance(recorded, list):
        theirs = [f for f in kernels if f in recorded]
        ours = [f for f in kernels if f in isa_flags]
        if theirs != ours:
            return (f'its gate was measured with {_isa_names(theirs)}, this '
                    f'CPU has {_isa_names(ours)}')
    return None


def choose_precision(backend: str,
                     gates: Dict[Tuple[str, str], dict],
                     isa_flags: Sequence[str],
                     ceilings: dict,
                     missing: Optional[Dict[str, str]] = None) -> Choice:
    """The fastest precision of ``backend`` that passes :func:`refusal`.

    Args:
        backend (str): A key of :data:`BACKEND_PRECISIONS`.
        gates (dict): :func:`read_gates`' result (empty: no deploy.json).
        isa_flags (Sequence[str]): This CPU's flags (Linux names).
        ceilings (dict): :func:`~.peak.probe_ceilings`' result; a
            precision's speed is its ceiling on the backend's runtime
            (``torch`` for pytorch), else its best ceiling.
        missing (dict, optional): ``{precision: reason}`` for precisions
            whose model file is absent.

    Returns:
        Choice: fp32 when nothing faster qualifies.

    Raises:
        ValueError: For a backend without CPU precisions to choose from
            (e.g. ``tensorrt``: give its precision explicitly).
    """
    if backend not in BACKEND_PRECISIONS:
        raise ValueError(
            f'--precision auto chooses among the CPU precisions of '
            f'{tuple(BACKEND_PRECISIONS)}; give {backend} an explicit '
            'precision')
    runtime = 'torch' if backend == 'pytorch' else backend
    speeds, candidates = {}, {}
    for precision in BACKEND_PRECISIONS[backend]:
        reason = refusal(backend, precision, gates, isa_flags, missing or {})
        per_runtime = ceilings.get('runtimes', {}).get(precision, {})
        speed = per_runtime.get(runtime,
                                ceilings.get('gflops', {}).get(precision))
        if reason is None and speed is None:
            reason = ('no conv ceiling was probed: ' +
                      ceilings.get('skipped', {}).get(precision, 'unknown'))
        if reason is None:
            speeds[precision] = speed
            candidates[precision] = f'{speed:.1f} GFLOP/s conv ceiling'
        else:
            candidates[precision] = f'refused: {reason}'
    if not speeds:  # fp32 refused only for want of a ceiling
        speeds['fp32'] = 0.0
    best = max(speeds, key=speeds.get)
    reasons = [
        f'{candidates[best]} on {runtime}' +
        (', accuracy gate passed' if best in GATED else '')
    ]
    reasons += [f'{p}: {candidates[p]}' for p in candidates if p != best]
    why = '; '.join(reasons)
    return Choice(backend, best, why, candidates)


def gate_summary(backend: str, precision: str, gates: Dict[Tuple[str, str],
                                                           dict]) -> List[str]:
    """The options-cell words of a row's gate: ``['gate passed']``,
    ``['gate failed']`` or nothing (no gate, or fp32)."""
    gate = gates.get((backend, precision))
    if gate is None:
        return []
    return ['gate passed' if gate['passed'] else 'gate failed']
