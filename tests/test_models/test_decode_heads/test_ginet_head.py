"""GINet graph math, class-embedding loading, head losses and configs.

GINet has no PyTorch release, so there is no golden fixture: the graph math
is checked against a float64 numpy re-derivation of the formulas of
PaddleSeg's ``paddleseg/models/ginet.py`` (``GraphTransfer``, ``GraphLayer``,
``GCN``, ``GlobalReasonUnit``), written here from the Paddle code's
operations, and by properties (softmax axes, zero gates).
"""
import logging
import os.path as osp
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from conftest import REPO
from mmengine.config import Config
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmseg_ext.engine.hooks.label_check_hook import check_batch_labels
from mmseg_ext.models.decode_heads.ginet_head import (GINetHead,
                                                      GlobalReasonUnit,
                                                      GraphInteraction,
                                                      GraphTransfer,
                                                      load_class_embeddings)

CFG = osp.join(REPO, 'configs', 'ginet')
EMB = osp.join(CFG, 'class_embeddings')
CONFIGS = {
    'ginet_r50-d8_4xb2-80k_cityscapes-512x1024.py': 19,
    'ginet_r101-d8_4xb2-80k_cityscapes-512x1024.py': 19,
    'ginet_r101-d8_4xb4-80k_pascal-context-480x480.py': 60,
    'ginet_r101-d8_4xb4-80k_pascal-context-59-480x480.py': 59,
}


# ---------------------------------------------------------------- numpy side
def np_conv1d(conv, x):
    """1x1 Conv1d on (B, Cin, L) with the module's weights, float64."""
    w = conv.weight.detach().double().numpy()[:, :, 0]
    y = np.einsum('oc,bcl->bol', w, x)
    if conv.bias is not None:
        y = y + conv.bias.detach().double().numpy()[None, :, None]
    return y


def np_conv2d_1x1(conv, x):
    w = conv.weight.detach().double().numpy()[:, :, 0, 0]
    y = np.einsum('oc,bchw->bohw', w, x)
    if conv.bias is not None:
        y = y + conv.bias.detach().double().numpy()[None, :, None, None]
    return y


def np_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def np_gcn(gcn, x):
    # Paddle GCN: h = conv1(x^T)^T; h = h + x; h = relu(h); conv2(h)
    h = np_conv1d(gcn.conv1, x.transpose(0, 2, 1)).transpose(0, 2, 1)
    return np_conv1d(gcn.conv2, np.maximum(h + x, 0))


def np_transfer(t, word, vis):
    b, _, nc = word.shape
    nn_ = vis.shape[2]
    query = np_conv1d(t.query_conv, word).reshape(b, -1, nc).transpose(0, 2, 1)
    key = np_conv1d(t.key_conv, vis).reshape(b, -1, nn_)
    energy = query @ key  # (B, Nc, Nn)
    att_vis = np_softmax(energy, -1).transpose(0, 2, 1)
    att_word = np_softmax(energy, -2)
    value_vis = np_conv1d(t.value_conv_vis, vis).reshape(b, -1, nn_)
    value_word = np_conv1d(t.value_conv_word, word).reshape(b, -1, nc)
    return value_vis @ att_vis, value_word @ att_word


def np_graph_layer(g, inp, vis_node):
    inp = np_gcn(g.word_gcn, inp)
    new_v = np_gcn(g.vis_gcn, vis_node)
    class_node, vis_node = np_transfer(g.transfer, inp, new_v)
    gw = g.gamma_word.detach().double().numpy()
    gv = g.gamma_vis.detach().double().numpy()
    return gw * inp + class_node, gv * vis_node + new_v


def np_bn_eval(bn, x):
    mean = bn.running_mean.double().numpy()[None, :, None, None]
    var = bn.running_var.double().numpy()[None, :, None, None]
    w = bn.weight.detach().double().numpy()[None, :, None, None]
    b = bn.bias.detach().double().numpy()[None, :, None, None]
    return (x - mean) / np.sqrt(var + bn.eps) * w + b


def np_global_reason_unit(u, x, inp):
    bsz, _, h, w = x.shape
    proj = np_conv2d_1x1(u.conv_theta, x).reshape(bsz, -1, h * w)
    x_reduce = np_conv2d_1x1(u.conv_phi, x).reshape(bsz, -1, h * w)
    x_reduce = x_reduce.transpose(0, 2, 1)
    v = (proj @ x_reduce).transpose(0, 2, 1) / (h * w)
    class_node, new_v = np_graph_layer(u.graph, inp, v)
    d = proj.transpose(0, 2, 1)
    y = (d @ new_v.transpose(0, 2, 1)).transpose(0, 2, 1)
    y = y.reshape(bsz, u.num_state, h, w)
    y = np_bn_eval(u.bn, np_conv2d_1x1(u.extend_dim, y))
    return y + x, class_node


def _randomise(module, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)
        for name, buf in module.named_buffers():
            if name.endswith('running_mean'):
                buf.copy_(torch.randn(buf.shape, generator=g) * 0.2)
            elif name.endswith('running_var'):
                buf.copy_(torch.rand(buf.shape, generator=g) + 0.5)
    return module


# -------------------------------------------------------------- graph math
def test_transfer_shapes_and_softmax_axes():
    t = _randomise(GraphTransfer(16))
    word, vis = torch.randn(2, 16, 5), torch.randn(2, 16, 7)
    att_vis, att_word = t.attention(word, vis)
    assert att_vis.shape == (2, 7, 5) and att_word.shape == (2, 5, 7)
    # visual -> class: each class distributes over the 7 visual nodes
    torch.testing.assert_close(att_vis.sum(1), torch.ones(2, 5))
    # class -> visual: each visual node distributes over the 5 classes
    torch.testing.assert_close(att_word.sum(1), torch.ones(2, 7))
    assert not torch.allclose(att_vis.sum(2), torch.ones(2, 7))
    class_out, node_out = t(word, vis)
    assert class_out.shape == (2, 16, 5) and node_out.shape == (2, 16, 7)
    assert t.query_conv.out_channels == t.key_conv.out_channels == 8


def test_transfer_matches_numpy_rederivation():
    t = _randomise(GraphTransfer(16), seed=1)
    word, vis = torch.randn(2, 16, 5), torch.randn(2, 16, 7)
    ref_c, ref_n = np_transfer(t, word.double().numpy(), vis.double().numpy())
    class_out, node_out = t(word, vis)
    np.testing.assert_allclose(class_out.detach().numpy(), ref_c, atol=1e-5)
    np.testing.assert_allclose(node_out.detach().numpy(), ref_n, atol=1e-5)


def test_interaction_with_open_gates_matches_numpy_rederivation():
    g = _randomise(GraphInteraction(16, num_node=7, num_classes=5), seed=2)
    assert g.gamma_vis.shape == (7, ) and g.gamma_word.shape == (5, )
    assert g.gamma_vis.abs().sum() > 0  # randomised: gates open
    word, vis = torch.randn(2, 16, 5), torch.randn(2, 16, 7)
    ref_c, ref_v = np_graph_layer(g,
                                  word.double().numpy(),
                                  vis.double().numpy())
    class_nodes, vis_nodes = g(word, vis)
    np.testing.assert_allclose(class_nodes.detach().numpy(), ref_c, atol=1e-5)
    np.testing.assert_allclose(vis_nodes.detach().numpy(), ref_v, atol=1e-5)


def test_unit_matches_numpy_rederivation_in_eval():
    u = _randomise(
        GlobalReasonUnit(12, num_state=16, num_node=7, num_classes=5),
        seed=3).eval()
    x, word = torch.randn(2, 12, 6, 9), torch.randn(2, 16, 5)
    ref_out, ref_c = np_global_reason_unit(u,
                                           x.double().numpy(),
                                           word.double().numpy())
    out, class_nodes = u(x, word)
    assert out.shape == x.shape and class_nodes.shape == (2, 16, 5)
    np.testing.assert_allclose(out.detach().numpy(), ref_out, atol=1e-5)
    np.testing.assert_allclose(class_nodes.detach().numpy(), ref_c, atol=1e-5)


def test_zero_gates_reduce_the_unit_to_its_visual_path():
    u = GlobalReasonUnit(12, num_state=16, num_node=7, num_classes=5)
    gates = (u.graph.gamma_vis, u.graph.gamma_word)
    assert all(torch.count_nonzero(g) == 0 for g in gates)  # as initialised
    _randomise(u, seed=4).eval()
    with torch.no_grad():
        for g in gates:
            g.zero_()
    x = torch.randn(2, 12, 6, 9)
    out_a, _ = u(x, torch.randn(2, 16, 5))
    out_b, _ = u(x, torch.randn(2, 16, 5) * 10)
    torch.testing.assert_close(out_a, out_b)  # the class nodes don't matter
    # ... and it is GloRe reasoning with /HW on the 7 visual nodes
    proj, nodes = u.project(x)
    y = torch.bmm(u.graph.vis_gcn(nodes), proj).view(2, 16, 6, 9)
    torch.testing.assert_close(out_a, x + u.bn(u.extend_dim(y)))
    with torch.no_grad():
        u.graph.gamma_vis.fill_(0.5)
    out_c, _ = u(x, torch.randn(2, 16, 5))
    assert (out_c - out_a).abs().max() > 1e-3


# ------------------------------------------------------- class embeddings
def test_load_class_embeddings_npy_and_txt_agree(tmp_path):
    table = np.random.RandomState(0).randn(4, 6)
    np.save(tmp_path / 'e.npy', table)
    np.savetxt(tmp_path / 'e.txt', table)
    a = load_class_embeddings(str(tmp_path / 'e.npy'), 4)
    b = load_class_embeddings(str(tmp_path / 'e.txt'), 4)
    assert a.dtype == np.float32 and a.shape == (4, 6)
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_load_class_embeddings_errors_name_the_file(tmp_path):
    path = tmp_path / 'five.npy'
    np.save(path, np.zeros((5, 8), np.float32))
    with pytest.raises(
            ValueError, match=r'five\.npy.*\(5, 8\).*num_classes=4'):
        load_class_embeddings(str(path), 4)
    flat = tmp_path / 'flat.npy'
    np.save(flat, np.zeros(4, np.float32))
    with pytest.raises(ValueError, match=r'flat\.npy.*\(4,\)'):
        load_class_embeddings(str(flat), 4)
    with pytest.raises(FileNotFoundError, match='missing.npy'):
        load_class_embeddings(str(tmp_path / 'missing.npy'), 4)
    (tmp_path / 'e.csv').write_text('1,2\n')
    with pytest.raises(ValueError, match=r"e\.csv.*'\.csv'"):
        load_class_embeddings(str(tmp_path / 'e.csv'), 1)
    (tmp_path / 'bad.txt').write_text('1 2\nthree 4\n')
    with pytest.raises(ValueError, match=r'bad\.txt could not be read'):
        load_class_embeddings(str(tmp_path / 'bad.txt'), 2)
    nan = tmp_path / 'nan.npy'
    np.save(nan, np.full((2, 3), np.nan, np.float32))
    with pytest.raises(ValueError, match='nan.npy holds non-finite'):
        load_class_embeddings(str(nan), 2)


def test_head_error_names_embedding_file_on_wrong_class_count():
    with pytest.raises(ValueError, match='cityscapes_minilm-l6.npy'):
        _head(
            num_classes=5,
            class_embeddings=osp.join(EMB, 'cityscapes_minilm-l6.npy'))


def test_committed_embedding_tables():
    tables = {}
    for name, rows in (('cityscapes', 19), ('pascal_context', 60),
                       ('pascal_context_59', 59)):
        t = load_class_embeddings(osp.join(EMB, f'{name}_minilm-l6.npy'), rows)
        assert t.shape == (rows, 384)
        # all-MiniLM-L6-v2 ends with L2 normalisation
        np.testing.assert_allclose(np.linalg.norm(t, axis=1), 1, atol=1e-4)
        assert len(np.unique(t.round(4), axis=0)) == rows
        tables[name] = t
    # the 59-class order is the 60-class order without 'background'
    np.testing.assert_array_equal(tables['pascal_context'][1:],
                                  tables['pascal_context_59'])


# ------------------------------------------------------------------- head
def _head(**kwargs):
    cfg = dict(
        in_channels=32,
        channels=16,
        num_classes=19,
        in_index=0,
        num_state=16,
        num_node=6,
        norm_cfg=dict(type='BN'),
        class_embeddings=osp.join(EMB, 'cityscapes_minilm-l6.npy'))
    cfg.update(kwargs)
    return GINetHead(**cfg)


def _samples(n=2, size=16, num_classes=19, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        s = SegDataSample()
        label = torch.randint(0, num_classes, (1, size, size), generator=g)
        label[:, :4] = 255
        s.gt_sem_seg = PixelData(data=label)
        s.set_metainfo(dict(img_shape=(size, size), seg_map_path='x.png'))
        out.append(s)
    return out


def test_embeddings_are_a_fixed_buffer_giving_distinct_class_nodes():
    head = _head().train()
    assert 'class_embeddings' in head.state_dict()
    assert 'class_embeddings' not in dict(head.named_parameters())
    assert head.fc1[0].in_features == 384
    word = head.class_nodes_input(3)
    assert word.shape == (3, 16, 19)
    torch.testing.assert_close(word[0], word[2])  # same for every image
    assert (word[0, :, 0] - word[0, :, 1]).abs().max() > 1e-3


def test_without_file_the_paddle_zeros_make_identical_class_nodes(caplog):
    with caplog.at_level(logging.WARNING):
        head = _head(class_embeddings=None).train()
    assert head.class_embeddings.shape == (19, 300)
    assert torch.count_nonzero(head.class_embeddings) == 0
    word = head.class_nodes_input(1)[0]
    torch.testing.assert_close(word, word[:, :1].expand_as(word))


def test_head_forward_and_losses():
    head = _head()
    x = [torch.randn(2, 32, 5, 7)]
    assert head.eval()(x).shape == (2, 19, 5, 7)
    logits, class_nodes = head.train()(x)
    assert logits.shape == (2, 19, 5, 7)
    assert class_nodes.shape == (2, 16, 19)
    assert head.semantic_centroid.shape == (19, 16)
    assert torch.all(head.semantic_centroid == 1)
    assert type(head.dropout) is torch.nn.Dropout  # Paddle's, not Dropout2d
    losses = head.loss(x, _samples(), dict())
    assert set(losses) == {'loss_ce', 'acc_seg', 'loss_sc'}
    assert torch.isfinite(losses['loss_sc']) and losses['loss_sc'] > 0
    (losses['loss_ce'] + losses['loss_sc']).backward()
    assert head.semantic_centroid.grad.abs().sum() > 0
    # zero gates still learn
    assert head.gloru.graph.gamma_word.grad.abs().sum() > 0
    assert head.gloru.graph.gamma_vis.grad.abs().sum() > 0
    assert head.class_embeddings.grad is None


def test_sc_loss_value_is_bce_of_centroid_logits_vs_presence():
    head = _head()
    x = [torch.randn(2, 32, 5, 7)]
    samples = _samples(seed=3)
    logits, nodes = head(x)  # training mode: (logits, class nodes)
    losses = head.loss_by_feat((logits, nodes), samples)
    s = (nodes.transpose(1, 2) * head.semantic_centroid).sum(2).double()
    target = torch.zeros(2, 19, dtype=torch.float64)
    for i, sample in enumerate(samples):
        ids = sample.gt_sem_seg.data.unique()
        target[i, ids[ids != 255]] = 1
    p = torch.sigmoid(s)
    bce = -(target * p.log() + (1 - target) * (1 - p).log()).mean()
    assert losses['loss_sc'].item() == pytest.approx(
        0.2 * bce.item(), rel=1e-5)
    # logits alone (no class nodes): segmentation losses only
    assert 'loss_sc' not in head.loss_by_feat(logits, samples)


def test_sc_loss_can_be_switched_off():
    head = _head(loss_sc=None)
    assert head.loss_sc is None
    assert not hasattr(head, 'semantic_centroid')
    losses = head.loss([torch.randn(2, 32, 5, 7)], _samples(), dict())
    assert set(losses) == {'loss_ce', 'acc_seg'}


def test_bad_label_file_is_named_before_the_loss():
    """LabelCheckHook's check with the head's classes (the head does not
    check again)."""
    head = _head()
    samples = _samples(n=1)
    samples[0].gt_sem_seg.data[0, 0, 0] = 33
    samples[0].set_metainfo(dict(seg_map_path='a_labelIds.png'))
    with pytest.raises(ValueError, match=r'a_labelIds.png: values \[33\]'):
        check_batch_labels(SimpleNamespace(decode_head=head), samples)


# ---------------------------------------------------------------- configs
@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_configs_point_at_matching_embedding_tables(name):
    cfg = Config.fromfile(osp.join(CFG, name))
    head = cfg.model.decode_head
    classes = CONFIGS[name]
    assert head.type == 'GINetHead' and head.num_classes == classes
    assert cfg.model.auxiliary_head.num_classes == classes
    assert head.num_node == 84 and head.num_state == 256
    if 'pascal' in name:  # the SC-loss recipe of the development commit
        assert head.loss_sc.loss_weight == 0.2
    else:  # PaddleSeg's Cityscapes recipe: no SC loss
        assert head.loss_sc is None
    assert cfg.model.auxiliary_head.loss_decode.loss_weight == 0.4
    assert cfg.model.neck.type == 'JPU' and cfg.model.neck.mid_channels == 512
    assert cfg.model.backbone.norm_cfg.type == 'SyncBN'
    assert cfg.model.backbone.contract_dilation is False  # as ResNet-vd's
    table = load_class_embeddings(head.class_embeddings, classes)
    assert table.shape == (classes, 384)
    if 'pascal' in name:
        crop = [
            t for t in cfg.train_dataloader.dataset.pipeline
            if t.type == 'RandomCrop'
        ][0]
        assert crop.crop_size == (480, 480)
        assert cfg.optimizer.lr == 0.001


def test_r50_config_builds_and_runs():
    cfg = Config.fromfile(
        osp.join(CFG, 'ginet_r50-d8_4xb2-80k_cityscapes-512x1024.py'))
    assert cfg.model.backbone.depth == 50
    cfg.model.pretrained = None
    for key in ('backbone', 'neck', 'decode_head', 'auxiliary_head'):
        cfg.model[key].norm_cfg = dict(type='BN', requires_grad=True)
    model = MODELS.build(cfg.model).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 32, 32), mode='tensor')
    assert out.shape == (1, 19, 4, 4)
