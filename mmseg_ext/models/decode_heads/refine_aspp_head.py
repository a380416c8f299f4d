"""ASPP head that also returns its pre-classifier feature (ISDNet context)."""
from typing import List, Tuple

from mmseg.models.decode_heads.aspp_head import ASPPHead
from mmseg.registry import MODELS
from mmseg.utils import SampleList
from torch import Tensor


@MODELS.register_module()
class RefineASPPHead(ASPPHead):
    """DeepLabV3 ASPP head of ISDNet's deep branch.

    The official ``RefineASPPHead`` (cedricgsh/ISDNet
    ``mmseg/models/decode_heads/aspp_refine_head.py``) is mmseg's
    ``ASPPHead`` whose forward also returns the bottleneck output, i.e. the
    feature *before* dropout and ``conv_seg``; :class:`ISDHead` takes it as
    the context. Weights, logits and losses are mmseg's ``ASPPHead``'s.

    mmseg's head contract: :meth:`forward` returns the pair ``(logits,
    context)`` in training and eval mode alike (ISDNet needs the context in
    both); :meth:`loss_by_feat` and :meth:`predict_by_feat` take that pair
    and score or resize the logits.

    Args:
        **kwargs: :class:`ASPPHead` arguments (``dilations``,
            ``in_channels``, ``channels``, ...).
    """

    def forward(self, inputs: List[Tensor]) -> Tuple[Tensor, Tensor]:
        """Logits and context feature.

        Args:
            inputs (list[Tensor]): Backbone features.

        Returns:
            tuple[Tensor, Tensor]: Logits (N, num_classes, h, w) and the
            bottleneck feature (N, channels, h, w).
        """
        feat = self._forward_feature(inputs)
        return self.cls_seg(feat), feat

    def loss_by_feat(self, seg_logits: Tuple[Tensor, Tensor],
                     batch_data_samples: SampleList) -> dict:
        """:meth:`ASPPHead.loss_by_feat` of the logits of ``(logits,
        context)``."""
        return super().loss_by_feat(seg_logits[0], batch_data_samples)

    def predict_by_feat(self, seg_logits: Tuple[Tensor, Tensor],
                        batch_img_metas: List[dict]) -> Tensor:
        """:meth:`ASPPHead.predict_by_feat` of the logits of ``(logits,
        context)``: (N, num_classes, H, W) at ``img_shape``."""
        return super().predict_by_feat(seg_logits[0], batch_img_metas)
