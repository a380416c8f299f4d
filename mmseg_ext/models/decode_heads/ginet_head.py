"""Graph Interaction Network (GINet) head: visual graph x semantic graph."""
import logging
import os.path as osp
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_norm_layer
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, SampleList
from torch import Tensor

from ..utils.weight_init import paddle_default_init_
from .glore_head import GloReGCN


def load_class_embeddings(path: str, num_classes: int) -> np.ndarray:
    """Read a ``[num_classes, D]`` class-name embedding table.

    Args:
        path (str): ``.npy`` (``np.save`` of a 2-D array) or ``.txt`` (one
            row of D numbers per class, in the dataset's class order, as
            ``np.savetxt`` writes).
        num_classes (int): Rows expected (the head's ``num_classes``).

    Returns:
        np.ndarray: float32 (num_classes, D).

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: On another suffix, a table that is not 2-D, a row count
            other than ``num_classes``, or non-finite values; the message
            names the file.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'class embedding file not found: {path}')
    suffix = osp.splitext(path)[1].lower()
    if suffix not in ('.npy', '.txt'):
        raise ValueError(
            f'class embedding file {path}: unsupported suffix {suffix!r} '
            '(use .npy or .txt)')
    try:
        if suffix == '.npy':
            table = np.load(path, allow_pickle=False)
        else:
            table = np.loadtxt(path, dtype=np.float64, ndmin=2)
    except (ValueError, OSError, EOFError) as err:
        raise ValueError(
            f'class embedding file {path} could not be read: {err}') from err
    if table.ndim != 2 or table.shape[0] != num_classes:
        raise ValueError(
            f'class embedding file {path} holds an array of shape '
            f'{tuple(table.shape)}, expected [num_classes={num_classes}, D] '
            '(one row per class, in the dataset\'s class order; build it '
            'with tools/misc/make_class_embeddings.py for this dataset)')
    if not np.isfinite(table).all():
        raise ValueError(
            f'class embedding file {path} holds non-finite values')
    return table.astype(np.float32)


class GraphTransfer(nn.Module):
    """Exchange information between the class nodes and the visual nodes.

    ``GraphTransfer`` of PaddleSeg ``paddleseg/models/ginet.py`` (GINet Sec.
    3.3, "graph interaction"): with class nodes ``W`` (B, C, K) and visual
    nodes ``V`` (B, C, N),

    * ``q = query(W)`` and ``k = key(V)``, 1x1 ``Conv1d`` (with bias) to
      C/2 states; ``E = q^T k`` (B, K, N);
    * visual -> class: ``A_v = softmax(E, dim=-1)^T`` (over the N visual
      nodes), ``class_out = value_vis(V) A_v`` (B, C, K);
    * class -> visual: ``A_w = softmax(E, dim=-2)`` (over the K classes),
      ``node_out = value_word(W) A_w`` (B, C, N).

    Args:
        num_state (int): Node feature size C (GINet: 256).
    """

    def __init__(self, num_state: int):
        super().__init__()
        self.query_conv = nn.Conv1d(num_state, num_state // 2, 1)
        self.key_conv = nn.Conv1d(num_state, num_state // 2, 1)
        self.value_conv_vis = nn.Conv1d(num_state, num_state, 1)
        self.value_conv_word = nn.Conv1d(num_state, num_state, 1)

    def attention(self, word: Tensor, vis: Tensor) -> Tuple[Tensor, Tensor]:
        """Attention maps: (B, N, K) visual->class, (B, K, N) class->visual."""
        energy = torch.bmm(
            self.query_conv(word).transpose(1, 2), self.key_conv(vis))
        att_vis = F.softmax(energy, dim=-1).transpose(1, 2)
        att_word = F.softmax(energy, dim=-2)
        return att_vis, att_word

    def forward(self, word: Tensor, vis: Tensor) -> Tuple[Tensor, Tensor]:
        """(B, C, K) class nodes, (B, C, N) visual nodes -> the two messages.

        Returns:
            tuple: ``class_out`` (B, C, K) and ``node_out`` (B, C, N).
        """
        att_vis, att_word = self.attention(word, vis)
        class_out = torch.bmm(self.value_conv_vis(vis), att_vis)
        node_out = torch.bmm(self.value_conv_word(word), att_word)
        return class_out, node_out


class GraphInteraction(nn.Module):
    """Reason on both graphs, then exchange through :class:`GraphTransfer`.

    ``GraphLayer`` of PaddleSeg ``paddleseg/models/ginet.py``:
    ``W' = word_gcn(W)``, ``V' = vis_gcn(V)`` (GloRe graph convolutions),
    ``class_out, node_out = transfer(W', V')`` and

    * ``class_nodes = gamma_word * W' + class_out``,
    * ``vis_nodes = gamma_vis * node_out + V'``,

    with per-node gates ``gamma_word`` (K,) and ``gamma_vis`` (N,)
    initialised to zero, so at initialisation the visual graph is plain
    GloRe reasoning and the class nodes only gather from it.

    Args:
        num_state (int): Node feature size C.
        num_node (int): Visual nodes N (GINet: 84).
        num_classes (int): Class nodes K.
    """

    def __init__(self, num_state: int, num_node: int, num_classes: int):
        super().__init__()
        self.vis_gcn = GloReGCN(num_state, num_node)
        self.word_gcn = GloReGCN(num_state, num_classes)
        self.transfer = GraphTransfer(num_state)
        self.gamma_vis = nn.Parameter(torch.zeros(num_node))
        self.gamma_word = nn.Parameter(torch.zeros(num_classes))

    def forward(self, word: Tensor, vis: Tensor) -> Tuple[Tensor, Tensor]:
        """(B, C, K) class nodes, (B, C, N) visual nodes -> updated pair."""
        word = self.word_gcn(word)
        vis = self.vis_gcn(vis)
        class_out, node_out = self.transfer(word, vis)
        class_nodes = self.gamma_word * word + class_out
        vis_nodes = self.gamma_vis * node_out + vis
        return class_nodes, vis_nodes


class GlobalReasonUnit(BaseModule):
    """GloRe-style projection around :class:`GraphInteraction`.

    ``GlobalReasonUnit`` of PaddleSeg ``paddleseg/models/ginet.py``: ``B =
    conv_theta(x)`` (1x1 with bias, N maps), ``X = conv_phi(x)`` (1x1 with
    bias, C states), visual nodes ``V = X B^T / (H*W)`` (GINet always
    normalises, unlike the GloRe default), graph interaction with the class
    nodes, back-projection ``Y = V' B`` with the same B, ``extend_dim`` (1x1,
    no bias), a BN (weight initialised to one, not zero, as in the Paddle
    code) and the residual ``x + BN(Y)``.

    Args:
        in_channels (int): Channels of x.
        num_state (int): C. Default: 256.
        num_node (int): N. Default: 84.
        num_classes (int): K.
        norm_cfg (dict): Norm after ``extend_dim``. Default: BN.

    Shapes:
        ``forward(x (B, in_channels, H, W), word (B, C, K))`` returns the
        refined map (B, in_channels, H, W) and the class nodes (B, C, K).
    """

    def __init__(self,
                 in_channels: int,
                 num_state: int = 256,
                 num_node: int = 84,
                 num_classes: int = 19,
                 norm_cfg: ConfigType = dict(type='BN'),
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.num_state = num_state
        self.num_node = num_node
        self.conv_theta = nn.Conv2d(in_channels, num_node, 1)
        self.conv_phi = nn.Conv2d(in_channels, num_state, 1)
        self.graph = GraphInteraction(num_state, num_node, num_classes)
        self.extend_dim = nn.Conv2d(num_state, in_channels, 1, bias=False)
        self.bn = build_norm_layer(norm_cfg, in_channels)[1]

    def project(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """Projection maps B (n, N, L) and visual nodes V (n, C, N)."""
        n = x.size(0)
        proj = self.conv_theta(x).view(n, self.num_node, -1)
        state = self.conv_phi(x).view(n, self.num_state, -1)
        nodes = torch.bmm(state, proj.transpose(1, 2)) / state.size(2)
        return proj, nodes

    def forward(self, x: Tensor, word: Tensor) -> Tuple[Tensor, Tensor]:
        proj, nodes = self.project(x)
        class_nodes, nodes = self.graph(word, nodes)
        y = torch.bmm(nodes,
                      proj).view(x.size(0), self.num_state, *x.shape[2:])
        return x + self.bn(self.extend_dim(y)), class_nodes


@MODELS.register_module()
class GINetHead(BaseDecodeHead):
    """GINet head (`arXiv 2009.06160 <https://arxiv.org/abs/2009.06160>`_).

    Follows ``GIHead`` of PaddleSeg ``paddleseg/models/ginet.py`` (GINet has
    no PyTorch release): a 3x3 conv-BN-ReLU (no bias) from the JPU output
    (2048) to ``channels`` (512); the semantic graph's K class nodes from
    class-name embeddings ``E`` (K, D) through ``Linear(D, 128)-BN1d-ReLU``
    and ``Linear(128, num_state)-BN1d-ReLU`` (BN over the class axis, the
    same for every image); :class:`GlobalReasonUnit` with 84 visual nodes
    and 256 states; Dropout(0.1) (element-wise, as Paddle's ``nn.Dropout``;
    mmseg's heads use ``Dropout2d``) and a 1x1 classifier.

    **Class-name embeddings.** PaddleSeg's ``GIHead.inp`` is a (K, 300)
    zero tensor that is never loaded ("almost all zeros input" in the dev
    code), so all its class nodes are identical. Here ``class_embeddings``
    names a ``[num_classes, D]`` ``.npy``/``.txt`` file (see
    ``tools/misc/make_class_embeddings.py``); it is kept as a fixed buffer
    (no gradient, as Paddle's ``stop_gradient``) and saved in checkpoints.
    ``class_embeddings=None`` reproduces the Paddle zeros (D =
    ``embedding_dim``) with a warning.

    **SC loss.** With ``loss_sc`` set, class-node logits ``s_k = <class
    node_k, centroid_k>`` (learnable ``semantic_centroid`` (K, num_state),
    initialised to ones as in PaddleSeg's ``SCLoss``) are scored against
    the classes present in each label map; :meth:`loss_by_feat` adds the
    term (``loss_sc``, weight 0.2 in GINet).

    Args:
        num_node (int): Visual nodes. Default: 84.
        num_state (int): Node states. Default: 256.
        class_embeddings (str, optional): Embedding file path. Default: None.
        embedding_dim (int): D when ``class_embeddings`` is None.
            Default: 300 (PaddleSeg).
        embed_channels (int): Hidden width of the embedding MLP.
            Default: 128.
        loss_sc (dict, optional): SC loss config; None disables it.
            Default: ``dict(type='SCLoss', loss_weight=0.2)``.
        init_cfg (dict | list | None): Initialisation config. None (default)
            keeps PaddleSeg's rule, see :meth:`init_weights`.
        **kwargs: :class:`BaseDecodeHead` arguments.

    Raises:
        FileNotFoundError, ValueError: From :func:`load_class_embeddings`
            (missing file, wrong shape vs ``num_classes``), naming the file.

    Input: the neck's tuple; ``in_index`` selects (N, in_channels, h, w).
    Output of :meth:`forward`: logits (N, num_classes, h, w) in eval mode,
    ``(logits, class_nodes)`` in training (mmseg's contract: :meth:`loss` =
    :meth:`forward` + :meth:`loss_by_feat`).
    """

    def __init__(self,
                 num_node: int = 84,
                 num_state: int = 256,
                 class_embeddings: Optional[str] = None,
                 embedding_dim: int = 300,
                 embed_channels: int = 128,
                 loss_sc: Optional[ConfigType] = dict(
                     type='SCLoss', loss_weight=0.2),
                 init_cfg: OptConfigType = None,
                 **kwargs):
        super().__init__(init_cfg=init_cfg, **kwargs)
        if self.dropout is not None:
            # Paddle's GIHead uses nn.Dropout (elements), not Dropout2d
            self.dropout = nn.Dropout(self.dropout_ratio)
        self.num_state = num_state
        if class_embeddings is None:
            print_log(
                'GINetHead: no class_embeddings file given; using all-zero '
                f'({self.num_classes}, {embedding_dim}) class inputs as '
                'PaddleSeg does (all class nodes start identical)',
                logger='current',
                level=logging.WARNING)
            table = torch.zeros(self.num_classes, embedding_dim)
        else:
            class_embeddings = osp.normpath(class_embeddings)
            table = torch.from_numpy(
                load_class_embeddings(class_embeddings, self.num_classes))
        self.class_embeddings_file = class_embeddings
        self.register_buffer('class_embeddings', table)
        dim = table.shape[1]
        self.fc1 = nn.Sequential(
            nn.Linear(dim, embed_channels), nn.BatchNorm1d(embed_channels),
            nn.ReLU())
        self.fc2 = nn.Sequential(
            nn.Linear(embed_channels, num_state), nn.BatchNorm1d(num_state),
            nn.ReLU())
        self.reduce = ConvModule(
            self.in_channels,
            self.channels,
            3,
            padding=1,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)
        self.gloru = GlobalReasonUnit(
            self.channels,
            num_state=num_state,
            num_node=num_node,
            num_classes=self.num_classes,
            # the unit's BN belongs to the block even if the convs have none
            norm_cfg=self.norm_cfg or dict(type='BN'))
        if loss_sc is not None:
            self.loss_sc = MODELS.build(loss_sc)
            self.semantic_centroid = nn.Parameter(
                torch.ones(self.num_classes, num_state))
        else:
            self.loss_sc = None

    def init_weights(self) -> None:
        """Initialise as PaddleSeg: PaddlePaddle's default initialisers.

        PaddleSeg's ``GIHead`` (``paddleseg/models/ginet.py``) sets no
        initialiser of its own: convs (``conv5``, ``GlobalReasonUnit``,
        ``GCN``, ``GraphTransfer``, the classifier) draw
        N(0, sqrt(2 / (k * in_channels))) with bias 0, the ``Linear`` layers
        of ``fc1``/``fc2`` Xavier-uniform with bias 0, BN gamma 1, beta 0
        (:func:`~mmseg_ext.models.utils.paddle_default_init_`); the gates
        ``gamma_vis``/``gamma_word`` stay zero and the SC centroid one. With
        an ``init_cfg`` given, that config rules instead.
        """
        super().init_weights()
        if self.init_cfg is None:
            paddle_default_init_(self)

    def class_nodes_input(self, batch_size: int) -> Tensor:
        """Initial class nodes from the embeddings: (batch_size, C, K)."""
        word = self.fc2(self.fc1(self.class_embeddings))  # (K, C)
        return word.t().unsqueeze(0).expand(batch_size, -1, -1)

    def forward(
            self,
            inputs: Sequence[Tensor]) -> Union[Tensor, Tuple[Tensor, Tensor]]:
        """Logits, and in training the class nodes the SC loss reads.

        Args:
            inputs (Sequence[Tensor]): The neck's features.

        Returns:
            Tensor | tuple[Tensor, Tensor]: Eval mode: logits
            (N, num_classes, h, w). Training mode: ``(logits, class_nodes)``
            with class nodes (N, num_state, num_classes), what
            :meth:`loss_by_feat` consumes.
        """
        x = self._transform_inputs(inputs)
        word = self.class_nodes_input(x.size(0))
        x, class_nodes = self.gloru(self.reduce(x), word)
        logits = self.cls_seg(x)
        return (logits, class_nodes) if self.training else logits

    def sc_logits(self, class_nodes: Tensor) -> Tensor:
        """(N, C, K) class nodes -> (N, K) presence logits via the centroid."""
        return (class_nodes.transpose(1, 2) *
                self.semantic_centroid).sum(dim=2)

    def loss_by_feat(self, seg_logits: Union[Tensor, Tuple[Tensor, Tensor]],
                     batch_data_samples: SampleList) -> dict:
        """:meth:`BaseDecodeHead.loss_by_feat` plus ``loss_sc``.

        Args:
            seg_logits: Logits (N, K, h, w), or ``(logits, class_nodes)``
                as :meth:`forward` returns in training; the SC loss needs
                the class nodes.
            batch_data_samples: Samples with ``gt_sem_seg``.
        """
        class_nodes = None
        if isinstance(seg_logits, (tuple, list)):
            seg_logits, class_nodes = seg_logits
        losses = super().loss_by_feat(seg_logits, batch_data_samples)
        if self.loss_sc is not None and class_nodes is not None:
            label = self._stack_batch_gt(batch_data_samples).squeeze(1)
            losses[self.loss_sc.loss_name] = self.loss_sc(
                self.sc_logits(class_nodes),
                label,
                ignore_index=self.ignore_index)
        return losses
