"""Graph-based Global Reasoning (GloRe) unit and segmentation head."""
from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule, build_norm_layer
from mmengine.model import BaseModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType
from torch import Tensor

from ..utils.weight_init import paddle_default_init_


class GloReGCN(nn.Module):
    """One graph convolution on a fully connected graph of ``num_node`` nodes.

    ``GCN`` of facebookresearch/GloRe (``network/global_reasoning_unit.py``),
    eq. (3) of the paper, ``Z = ((I - A_g) V) W_g``:

    * node-wise mixing: a 1x1 ``Conv1d`` (with bias) over the node axis
      (the adjacency ``A_g``), added to its input (the identity ``I``);
    * ReLU **before** the state-wise 1x1 ``Conv1d`` without bias (``W_g``).

    The official unit places the ReLU between the two convolutions; PaddleSeg's
    ``glore.py`` applies it after ``conv2``, which we do not follow.

    Args:
        num_state (int): Feature size of each node (``C'``).
        num_node (int): Number of nodes (``N``).
        bias (bool): Bias of the state-wise conv. Default: False (official).

    Shapes:
        input and output (B, num_state, num_node).
    """

    def __init__(self, num_state: int, num_node: int, bias: bool = False):
        super().__init__()
        self.conv1 = nn.Conv1d(num_node, num_node, kernel_size=1)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv1d(num_state, num_state, kernel_size=1, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        # conv1 mixes nodes: run it on (B, num_node, num_state)
        h = self.conv1(x.transpose(1, 2)).transpose(1, 2)
        return self.conv2(self.relu(h + x))


class GloReUnit(BaseModule):
    """Global reasoning unit (2-D): project, reason on a graph, project back.

    Reproduces ``GloRe_Unit_2D(num_in, num_mid, normalize)`` of
    facebookresearch/GloRe (``network/global_reasoning_unit.py``), Sec. 3 of
    `arXiv 1811.12814 <https://arxiv.org/abs/1811.12814>`_:

    1. ``X = conv_state(x)`` (1x1 with bias) to ``num_state = 2 * num_mid``
       channels and ``B = conv_proj(x)`` (1x1 with bias) to ``num_node =
       num_mid`` projection maps, both flattened over the L = H*W pixels;
    2. node features ``V = X B^T`` of shape (num_state, num_node), times
       ``1 / L`` only when ``normalize`` (the official default is off: the
       repo notes normalisation is unnecessary at a fixed input size);
    3. ``V' = GloReGCN(V)``;
    4. back-projection with the **same** ``B`` (no softmax): ``Y = V' B``,
       ``conv_extend`` (1x1, no bias) to ``in_channels`` and a BN with
       ``eps=1e-4`` (the official ``blocker``), added to ``x``.

    The official networks (``network/resnet50_3d_gcn_x5.py``) set every
    ``blocker.weight`` to zero after initialisation, so each unit starts as
    the identity; ``zero_init_norm=True`` does the same here (SemSegPaddle's
    head does not). Weights load from the official key layout unchanged
    (``conv_state``, ``conv_proj``, ``gcn.conv1``, ``gcn.conv2``,
    ``conv_extend``, ``blocker``).

    Args:
        in_channels (int): Channels of the input map (``num_in``).
        num_mid (int): ``num_node``; ``num_state`` is twice this.
        normalize (bool): Divide the node features by H*W. Default: False.
        norm_cfg (dict): Norm of the ``blocker``; ``eps`` defaults to the
            official 1e-4 when not given. Default: ``dict(type='BN')``.
        zero_init_norm (bool): Zero the blocker's weight at init (official
            networks). Default: True.
        init_cfg (dict, optional): mmengine init config. Default: None.

    Shapes:
        input and output (N, in_channels, H, W).
    """

    def __init__(self,
                 in_channels: int,
                 num_mid: int,
                 normalize: bool = False,
                 norm_cfg: ConfigType = dict(type='BN'),
                 zero_init_norm: bool = True,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.normalize = normalize
        self.num_state = int(2 * num_mid)
        self.num_node = int(num_mid)
        self.zero_init_norm = zero_init_norm
        self.conv_state = nn.Conv2d(in_channels, self.num_state, 1)
        self.conv_proj = nn.Conv2d(in_channels, self.num_node, 1)
        self.gcn = GloReGCN(self.num_state, self.num_node)
        self.conv_extend = nn.Conv2d(
            self.num_state, in_channels, 1, bias=False)
        norm_cfg = dict(norm_cfg)
        norm_cfg.setdefault('eps', 1e-4)
        self.blocker = build_norm_layer(norm_cfg, in_channels)[1]
        self._zero_blocker()

    def _zero_blocker(self) -> None:
        if self.zero_init_norm:
            nn.init.zeros_(self.blocker.weight)

    def init_weights(self) -> None:
        # an init_cfg (or a parent's) must not undo the official zero init
        super().init_weights()
        self._zero_blocker()

    def forward(self, x: Tensor) -> Tensor:
        n = x.size(0)
        state = self.conv_state(x).view(n, self.num_state, -1)
        proj = self.conv_proj(x).view(n, self.num_node, -1)
        # (n, num_state, L) x (n, L, num_node) -> (n, num_state, num_node)
        nodes = torch.matmul(state, proj.transpose(1, 2))
        if self.normalize:
            nodes = nodes * (1. / state.size(2))
        nodes = self.gcn(nodes)
        # reverse projection with the same B: (n, num_state, L)
        y = torch.matmul(nodes, proj).view(n, self.num_state, *x.shape[2:])
        return x + self.blocker(self.conv_extend(y))


@MODELS.register_module()
class GloReHead(BaseDecodeHead):
    """GloRe segmentation head (`arXiv 1811.12814
    <https://arxiv.org/abs/1811.12814>`_, Sec. 4.3).

    The official segmentation code is not public as source; the head follows
    SemSegPaddle (PaddlePaddle/Research ``CV/SemSegPaddle/src/models/
    modeling/glore.py``, ``glore``): the last backbone stage is reduced to
    ``channels`` (512) by a conv-BN-ReLU without bias (1x1 on Cityscapes, 3x3
    on Pascal Context), passed through one :class:`GloReUnit` with
    ``num_mid=64`` (128 states, 64 nodes), then Dropout(0.1) and a 1x1
    classifier with bias. The dropout is element-wise (``nn.Dropout``) like
    Paddle's, where mmseg's heads drop whole channels (``Dropout2d``). The
    unit itself follows the official facebookresearch/GloRe unit (ReLU
    placement, zero-initialised final BN with eps 1e-4); SemSegPaddle's own
    unit uses eps 1e-5 and no zero init.

    SemSegPaddle's 3x3 reduction conv has no padding (``fluid.layers.conv2d``
    defaults to 0), which trims one feature pixel on each side before the
    logits are upsampled to the input; set ``kernel_size=3, padding=0`` to
    reproduce it, ``padding=1`` to keep the size.

    Args:
        num_mid (int): Nodes of the unit (states = 2x). Default: 64.
        normalize (bool): Divide node features by H*W. Default: False.
        kernel_size (int): Kernel of the reduction conv. Default: 1.
        padding (int): Padding of the reduction conv. Default: 0.
        zero_init_norm (bool): Zero-init the unit's final BN weight.
            Default: True (the GloRe authors' unit; SemSegPaddle: False).
        init_cfg (dict | list | None): Initialisation config. None (default)
            keeps SemSegPaddle's rule, see :meth:`init_weights`.
        **kwargs: :class:`BaseDecodeHead` arguments (``in_channels``,
            ``channels``, ``num_classes``, ``in_index``, ``dropout_ratio``,
            ``norm_cfg``, ``loss_decode``, ...).

    Input: the backbone's tuple; ``in_index`` selects (N, in_channels, h, w).
    Output: logits (N, num_classes, h', w') with h' = h - kernel_size + 1 +
    2 * padding.
    """

    def __init__(self,
                 num_mid: int = 64,
                 normalize: bool = False,
                 kernel_size: int = 1,
                 padding: int = 0,
                 zero_init_norm: bool = True,
                 init_cfg: OptConfigType = None,
                 **kwargs):
        super().__init__(init_cfg=init_cfg, **kwargs)
        if self.dropout is not None:
            # fluid.layers.dropout drops elements, not channels (Dropout2d)
            self.dropout = nn.Dropout(self.dropout_ratio)
        self.reduce = ConvModule(
            self.in_channels,
            self.channels,
            kernel_size,
            padding=padding,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)
        self.glore = GloReUnit(
            self.channels,
            num_mid,
            normalize=normalize,
            # the blocker BN belongs to the unit even if the convs have none
            norm_cfg=self.norm_cfg or dict(type='BN'),
            zero_init_norm=zero_init_norm)

    def init_weights(self) -> None:
        """Initialise as SemSegPaddle: PaddlePaddle's default initialisers.

        SemSegPaddle's ``glore`` (``src/models/modeling/glore.py``, layers
        from ``src/models/libs/model_libs.py``) sets no initialiser of its
        own: every conv (reduction, projection, GCN, extension, classifier)
        draws N(0, sqrt(2 / (k_h * k_w * in_channels))) with bias 0 and every
        BN starts at gamma 1, beta 0
        (:func:`~mmseg_ext.models.utils.paddle_default_init_`) -- not
        ``ConvModule``'s kaiming fan_out nor mmseg's normal(0, 0.01)
        ``conv_seg``. ``zero_init_norm`` is applied afterwards. With an
        ``init_cfg`` given, that config rules instead.
        """
        super().init_weights()
        if self.init_cfg is None:
            paddle_default_init_(self)
            self.glore._zero_blocker()

    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        x = self._transform_inputs(inputs)
        return self.cls_seg(self.glore(self.reduce(x)))
