# GINet R-101 + JPU on Pascal Context (60 classes, background counted) as the
# SC-loss setup of PaddleSeg's GINet development commit e13869b5
# (ginet_resnet101_os8_pascal_context_80k_scloss.yml); recipe in _base_.
_base_ = [
    '../_base_/recipes/ginet_r101-d8_4xb4-80k_pascal-context.py',
    '../_base_/datasets/pascal_context.py'
]
model = dict(
    decode_head=dict(
        num_classes=60,
        # [60, 384] all-MiniLM-L6-v2 embeddings of the class names
        class_embeddings=('{{ fileDirname }}/class_embeddings/'
                          'pascal_context_minilm-l6.npy')),
    auxiliary_head=dict(num_classes=60))
