"""Training losses of ISDNet's super-resolution branch.

`ISDNet (CVPR 2022)`, reconstruction and feature-affinity terms;
reproduces ``ISDHead.image_recon_loss`` and ``ISDHead.feature_affinity_loss``
of cedricgsh/ISDNet ``mmseg/models/decode_heads/isdhead.py`` (commit
7341335).
"""
import torch.nn.functional as F
from mmseg.models.utils import resize
from torch import Tensor


def image_recon_loss(pred: Tensor,
                     target: Tensor,
                     weight: float = 0.1) -> Tensor:
    """Weighted MSE between the SR output and the Laplacian target.

    Official ``ISDHead.image_recon_loss``: ``pred`` is bilinearly resized
    (``align_corners=False``) to the target size first.

    Args:
        pred (Tensor): SR image, shape (N, 3, h, w).
        target (Tensor): Shape (N, 3, H, W) (the sum of the Laplacian
            residuals at full resolution).
        weight (float): Loss weight (official 0.1).

    Returns:
        Tensor: Scalar loss.
    """
    if pred.shape[2:] != target.shape[2:]:
        pred = resize(
            pred, size=target.shape[2:], mode='bilinear', align_corners=False)
    return F.mse_loss(pred, target) * weight


def spatial_affinity(feats: Tensor, eps: float = 1e-6) -> Tensor:
    """Cosine self-similarity of every pixel pair, after channel-wise norm.

    Official ``feature_affinity_loss``: each channel's flattened map is
    divided by its L2 norm over the *pixels* (+ eps), then the (HW x HW)
    Gram matrix of the pixel vectors is taken.

    Args:
        feats (Tensor): Shape (N, C, H, W).
        eps (float): Added to the norm. Default: 1e-6.

    Returns:
        Tensor: Shape (N, H*W, H*W).
    """
    flat = feats.flatten(2)
    flat = flat / (flat.norm(p=2, dim=2, keepdim=True) + eps)
    return flat.transpose(1, 2) @ flat


def feature_affinity_loss(deep_feats: Tensor,
                          sr_feats: Tensor,
                          weight: float = 1.0) -> Tensor:
    """L1 distance of the deep and SR spatial affinities (SR side detached).

    Official ``ISDHead.feature_affinity_loss``: ``sr_feats`` is bilinearly
    resized (``align_corners=False``) to the deep feature's size and its
    affinity is the (detached) target.

    Args:
        deep_feats (Tensor): Shape (N, C, h, w).
        sr_feats (Tensor): Shape (N, C, H, W).
        weight (float): Loss weight (official 1.0).

    Returns:
        Tensor: Scalar loss.
    """
    if sr_feats.shape[2:] != deep_feats.shape[2:]:
        sr_feats = resize(
            sr_feats,
            size=deep_feats.shape[2:],
            mode='bilinear',
            align_corners=False)
    return F.l1_loss(
        spatial_affinity(deep_feats),
        spatial_affinity(sr_feats).detach()) * weight
