# GINet R-101 + JPU on Pascal Context with 59 classes (background ignored);
# the 60-class recipe otherwise (_base_).
_base_ = [
    '../_base_/recipes/ginet_r101-d8_4xb4-80k_pascal-context.py',
    '../_base_/datasets/pascal_context_59.py'
]
model = dict(
    decode_head=dict(
        num_classes=59,
        # [59, 384] all-MiniLM-L6-v2 embeddings of the class names
        class_embeddings=('{{ fileDirname }}/class_embeddings/'
                          'pascal_context_59_minilm-l6.npy')),
    auxiliary_head=dict(num_classes=59))
