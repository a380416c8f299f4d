"""ASPP head that also returns its pre-classifier feature (ISDNet context)."""
from typing import List, Tuple

from mmseg.models.decode_heads.aspp_head import ASPPHead
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, SampleList
from torch import Tensor


@MODELS.register_module()
class RefineASPPHead(ASPPHead):
    """DeepLabV3 ASPP head of ISDNet's deep branch.

    The official ``RefineASPPHead`` (cedricgsh/ISDNet
    ``mmseg/models/decode_heads/aspp_refine_head.py``) is mmseg's
    ``ASPPHead`` whose forward also returns the bottleneck output, i.e. the
    feature *before* dropout and ``conv_seg``; :class:`ISDHead` takes it as
    the context. Weights, logits and losses are mmseg's ``ASPPHead``'s.

    Args:
        **kwargs: :class:`ASPPHead` arguments (``dilations``,
            ``in_channels``, ``channels``, ...).
    """

    def forward_with_context(self,
                             inputs: List[Tensor]) -> Tuple[Tensor, Tensor]:
        """Logits and context feature.

        Args:
            inputs (list[Tensor]): Backbone features.

        Returns:
            tuple[Tensor, Tensor]: Logits (N, num_classes, h, w) and the
            bottleneck feature (N, channels, h, w).
        """
        feat = self._forward_feature(inputs)
        return self.cls_seg(feat), feat

    def loss_with_context(self, inputs: List[Tensor],
                          batch_data_samples: SampleList,
                          train_cfg: ConfigType) -> Tuple[dict, Tensor]:
        """As :meth:`loss`, also returning the context feature.

        Returns:
            tuple[dict, Tensor]: Losses and the (N, channels, h, w) feature.
        """
        logits, feat = self.forward_with_context(inputs)
        return self.loss_by_feat(logits, batch_data_samples), feat
