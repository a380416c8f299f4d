"""The layers of an exported segmentor that int8 quantization must skip.

:func:`float_only_nodes` finds them in ``end2end.onnx`` (from
:func:`~mmseg_ext.deploy.export.export_onnx`) by graph pattern, so that one
rule covers every family and every export size; the result is a list of ONNX
node names per rule. The quantizers take these names through their own
ignored-scope mechanisms: ONNX Runtime's ``quantize_static(...,
nodes_to_exclude=...)`` and NNCF's ``IgnoredScope(names=...)`` (OpenVINO's
ONNX frontend keeps the ONNX node names as operation names); TensorRT keeps
those layers in fp32 (:mod:`.quantize_tensorrt`).

The rules (:data:`RULES`). Measured with :mod:`mmseg_ext.deploy.quantize`
(AMD EPYC Zen 4, AVX512-VNNI/BF16, no AMX; onnxruntime 1.31.1, OpenVINO
2026.4.1 + NNCF 3.4.0): per-pixel argmax agreement of the int8 export with
fp32 PyTorch with the rule applied / without it, ONNX Runtime and OpenVINO
(table and settings in ``docs/en/user_guides/5_deployment.md``):

* ``grid_coordinates``: every ``GridSample`` and what computes its sampling
  grid back to (and including) the convolution that makes the offsets:
  SFNet's FAM ``flow_make`` conv, the flow normalisation and the base-grid
  addition (:func:`mmseg_ext.models.utils.flow_warp`); PointRend's and
  PFNet's point coordinates. An int8 flow has a step of its range / 255 --
  at a range of a few pixels a sub-pixel offset rounds away, and grid
  coordinates in [-1, 1] at int8 resolution address only 256 positions
  across the map. Measured: SFNet-R18 trained on CamVid (180x240, 26 val
  frames) 99.61 / 99.56 % (ORT), 99.30 / 99.30 % (OpenVINO), int8 mIoU
  40.43 / 40.45 vs fp32 40.34.
* ``point_selection``: ``TopK``, ``Gather*`` and ``Scatter*`` nodes and the
  cone of the ``TopK`` scores (the uncertainty of the coarse logits in
  PointRend, the edge saliency in PFNet's PointFlow) back to the conv that
  makes them: a score quantized to 256 levels turns near-ties into ties, and
  ``TopK`` then picks other points, so other pixels get refined.
  Measured with ``grid_coordinates`` (random weights, 64x128, 20 CamVid
  frames): PFNet-R18 72.4 / 71.3 % (ORT), 92.2 / 92.1 % (OpenVINO);
  PointRend-R18 95.1 / 95.1 %, 93.5 / 93.5 %.
* ``image_pyramid``: the image-space arithmetic between the graph input and
  the first convolutions -- ISDNet's Laplacian pyramid (Gaussian blur, the
  odd-size down/up resizes, the subtraction that leaves the high-frequency
  residual) and input resizes. The residual is a difference of two nearly
  equal images; quantizing its operands to the image's 8-bit step erases
  the detail the shallow branch exists for. Measured: ISDNet-R18 (random
  weights, 64x128) 99.66 / 99.64 % (ORT), 99.63 / 99.65 % (OpenVINO).
* ``logit_tail``: the classifier conv and everything after it up to the
  output (the resize of the logits to the input size), and every
  ``Softmax`` (GloRe/GINet's graph projections, attention maps): the
  decision is an argmax over logits whose margins can be below the int8
  step of the logits' range. Measured on the CamVid SFNet-R18 above:
  99.61 / 99.49 % (ORT; all four rules / none: 99.61 / 99.46 %),
  99.30 / 99.30 % (OpenVINO).

At these small sizes the rules change little (PFNet's +1.1 points on ONNX
Runtime is the largest gain measured); they protect positions and rankings
whose int8 error grows with the map size, and are on by default
(``calib_config.float_only`` selects them).
"""
from typing import Dict, Iterable, List, Set

#: Rule name -> why its nodes stay float (short form, for ``deploy.json``).
RULES = {
    'grid_coordinates':
    'GridSample and its sampling-grid arithmetic (flow / point coordinates '
    'need sub-pixel precision)',
    'point_selection':
    'TopK / Gather / Scatter and the scores TopK ranks (int8 near-ties '
    'change the selected points)',
    'image_pyramid':
    'image-space arithmetic before the first convs (Laplacian residuals '
    'are differences of nearly equal images)',
    'logit_tail':
    'classifier conv, logit resize and Softmax (argmax margins below the '
    'int8 step)',
}

#: Ops whose output is a learned projection: the cones stop there.
_STOPS = ('Conv', 'ConvTranspose', 'MatMul', 'Gemm')
_INDEXED = ('TopK', 'GatherElements', 'GatherND', 'ScatterElements',
            'ScatterND')


def _graph_maps(graph):
    producer = {out: node for node in graph.node for out in node.output}
    consumers: Dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    return producer, consumers


def _backward(names: Iterable[str], producer: dict) -> Set[str]:
    """Nodes computing the tensors ``names``, walked back to (and
    including) the first op of :data:`_STOPS` on each path."""
    seen: Set[str] = set()
    stack = [producer[n] for n in names if n in producer]
    while stack:
        node = stack.pop()
        if node.name in seen:
            continue
        seen.add(node.name)
        if node.op_type in _STOPS:
            continue
        stack.extend(producer[n] for n in node.input if n in producer)
    return seen


def _forward_from_inputs(graph, consumers: dict) -> Set[str]:
    """Nodes reachable from the graph inputs before any op of
    :data:`_STOPS` (that op excluded)."""
    seen: Set[str] = set()
    stack = [
        node for inp in graph.input for node in consumers.get(inp.name, [])
    ]
    while stack:
        node = stack.pop()
        if node.name in seen or node.op_type in _STOPS:
            continue
        seen.add(node.name)
        for out in node.output:
            stack.extend(consumers.get(out, []))
    return seen


def float_only_nodes(model) -> Dict[str, List[str]]:
    """The nodes of ``model`` to keep float, per rule of :data:`RULES`.

    Args:
        model (onnx.ModelProto): An exported segmentor (weights need not be
            loaded).

    Returns:
        dict[str, list[str]]: Rule name -> sorted ONNX node names (a rule
        that matches nothing maps to ``[]``).
    """
    graph = model.graph
    producer, consumers = _graph_maps(graph)
    found = {name: set() for name in RULES}
    for node in graph.node:
        if node.op_type == 'GridSample':
            found['grid_coordinates'] |= {node.name} | _backward(
                node.input[1:2], producer)
        elif node.op_type in _INDEXED:
            found['point_selection'].add(node.name)
            if node.op_type == 'TopK':
                found['point_selection'] |= _backward(node.input[:1], producer)
            elif node.op_type.startswith('Scatter'):
                found['point_selection'] |= _backward(node.input[1:2],
                                                      producer)
        elif node.op_type == 'Softmax':
            found['logit_tail'].add(node.name)
    found['image_pyramid'] = _forward_from_inputs(graph, consumers)
    found['logit_tail'] |= _backward([out.name for out in graph.output],
                                     producer)
    return {name: sorted(nodes) for name, nodes in found.items()}


def ignored_node_names(model, rules: Iterable[str] = tuple(RULES)) -> list:
    """The union of :func:`float_only_nodes` over ``rules``.

    Raises:
        ValueError: If a rule is not one of :data:`RULES`.
    """
    rules = list(rules)
    unknown = [r for r in rules if r not in RULES]
    if unknown:
        raise ValueError(f'unknown float-only rule(s) {unknown}; known: '
                         f'{list(RULES)}')
    nodes = float_only_nodes(model)
    return sorted(set().union(*(nodes[r] for r in rules)))
