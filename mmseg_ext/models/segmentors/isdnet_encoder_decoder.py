"""Two-branch segmentor of ISDNet: deep branch on a small image, shallow
branch on the full-resolution image."""
from typing import List, Optional

import torch.nn.functional as F
from mmseg.models.segmentors.encoder_decoder import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.utils import (ConfigType, OptConfigType, OptMultiConfig,
                         OptSampleList, SampleList, add_prefix)
from torch import Tensor


@MODELS.register_module()
class ISDNetEncoderDecoder(EncoderDecoder):
    """ISDNet segmentor (the official ``EncoderDecoderRefine``).

    `ISDNet (CVPR 2022)
    <https://openaccess.thecvf.com/content/CVPR2022/html/Guo_ISDNet_Integrating_Shallow_and_Deep_Networks_for_Efficient_Ultra-High_Resolution_CVPR_2022_paper.html>`_,
    cedricgsh/ISDNet ``mmseg/models/segmentors/encoder_decoder_refine.py``
    ported to mmseg 1.x (data preprocessor, ``SegDataSample``):

    * deep branch: the normalised image is downsampled by ``down_ratio``
      with ``F.interpolate``'s default, **nearest** (as the official code),
      to ``(H // down_ratio, W // down_ratio)``; ``backbone`` +
      ``decode_head`` (:class:`RefineASPPHead`) give the ASPP logits and the
      128-channel context feature; ``auxiliary_head`` reads the backbone
      features as in any mmseg segmentor;
    * shallow branch and fusion: ``refine_head`` (:class:`ISDHead`) reads
      the full-resolution normalised image and the context;
    * inference (whole or slide) returns the ``refine_head`` logits
      bilinearly resized to the input size; the ASPP logits are only
      trained.

    Official mapping: ``decode_head=[RefineASPPHead, ISDHead]`` with
    ``num_stages=2`` becomes ``decode_head`` + ``refine_head`` (the same
    state-dict prefixes); ``down_ratio`` is the same; the unused
    ``is_frequency`` and ``refine_input_ratio`` (always 1) options are not
    ported. Loss keys: ``decode.*`` (ASPP, official ``decode.*``),
    ``refine.*`` (main, official ``refine.*``), ``refine.aux8.*`` and
    ``refine.aux16.*`` (official ``aux_1``/``aux_2``),
    ``refine.loss_recon`` (``aux_3.recon_losses``), ``refine.loss_affinity``
    (``aux_4.fa_loss``) and ``aux.*`` (FCN auxiliary head).

    Args:
        backbone (dict): Deep-branch backbone (ResNet-18-V1c, OS8).
        decode_head (dict): :class:`RefineASPPHead` config.
        refine_head (dict): :class:`ISDHead` config.
        down_ratio (int): Downsampling of the deep-branch input. Default: 4.
        neck (dict, optional): As mmseg's ``EncoderDecoder``.
        auxiliary_head (dict, optional): As mmseg's ``EncoderDecoder``.
        train_cfg (dict, optional): As mmseg's ``EncoderDecoder``.
        test_cfg (dict, optional): As mmseg's ``EncoderDecoder``.
        data_preprocessor (dict, optional): As mmseg's ``EncoderDecoder``.
        pretrained (str, optional): As mmseg's ``EncoderDecoder``.
        init_cfg (dict, optional): As mmseg's ``EncoderDecoder``.

    Raises:
        ValueError: If ``down_ratio < 1``.
    """

    def __init__(self,
                 backbone: ConfigType,
                 decode_head: ConfigType,
                 refine_head: ConfigType,
                 down_ratio: int = 4,
                 neck: OptConfigType = None,
                 auxiliary_head: OptConfigType = None,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 pretrained: Optional[str] = None,
                 init_cfg: OptMultiConfig = None):
        if int(down_ratio) < 1:
            raise ValueError(f'down_ratio must be >= 1, got {down_ratio}')
        super().__init__(
            backbone=backbone,
            decode_head=decode_head,
            neck=neck,
            auxiliary_head=auxiliary_head,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            data_preprocessor=data_preprocessor,
            pretrained=pretrained,
            init_cfg=init_cfg)
        self.down_ratio = int(down_ratio)
        self.refine_head = MODELS.build(refine_head)

    def extract_feat(self, inputs: Tensor) -> List[Tensor]:
        """Deep-branch features of the full-resolution ``inputs``.

        Args:
            inputs (Tensor): Normalised images (N, 3, H, W).

        Returns:
            list[Tensor]: Backbone (and neck) features of the
            (H // down_ratio, W // down_ratio) nearest-downsampled image.
        """
        h, w = inputs.shape[2:]
        small = F.interpolate(
            inputs, size=(h // self.down_ratio, w // self.down_ratio))
        return super().extract_feat(small)

    def encode_decode(self, inputs: Tensor,
                      batch_img_metas: List[dict]) -> Tensor:
        """Refined logits (N, num_classes, H, W) at the input size."""
        _, context = self.decode_head(self.extract_feat(inputs))
        return self.refine_head.predict((inputs, context), batch_img_metas,
                                        self.test_cfg)

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """Losses of both branches (keys in the class docstring).

        Both heads follow mmseg's contract (``forward`` then
        ``loss_by_feat``). ``refine_head.loss`` runs first because it checks
        the label values, once per batch, before any cross-entropy reads
        them; the dict still lists ``decode.*`` first, as the summed total
        depends on the order.

        Args:
            inputs (Tensor): Normalised images (N, 3, H, W).
            data_samples (list[SegDataSample]): With ``gt_sem_seg``.

        Returns:
            dict[str, Tensor]: Loss components and accuracies.

        Raises:
            ValueError: If a label map holds ids outside the classes and
                ``ignore_index`` (the message names the file).
        """
        x = self.extract_feat(inputs)
        decode_out = self.decode_head(x)
        loss_refine = self.refine_head.loss((inputs, decode_out[1]),
                                            data_samples, self.train_cfg)
        losses = add_prefix(
            self.decode_head.loss_by_feat(decode_out, data_samples), 'decode')
        losses.update(add_prefix(loss_refine, 'refine'))
        if self.with_auxiliary_head:
            losses.update(self._auxiliary_head_forward_train(x, data_samples))
        return losses

    def _forward(self,
                 inputs: Tensor,
                 data_samples: OptSampleList = None) -> Tensor:
        """Tensor mode: refined logits (N, num_classes, H/8, W/8).

        What ``model(x, mode='tensor')`` (and ``tools/fps_test.py``) runs in
        eval mode: both heads' ``forward``, without the final resize (the
        official ``forward_dummy`` includes it). In training mode the
        refine head returns its training outputs instead.
        """
        _, context = self.decode_head(self.extract_feat(inputs))
        return self.refine_head((inputs, context))
