"""Dataset preparation: what the ``tools/dataset_converters`` scripts and
``tools/misc/make_class_embeddings.py`` run.

One module (or package) per source: :mod:`.isaid` (PFNet's patches),
:mod:`.deepglobe` and :mod:`.inria` (ISDNet's split lists, sharing
:mod:`.split_layout`), :mod:`.pascal_context` (label PNGs without the
``detail`` API) and :mod:`.class_embeddings` (GINet's class-name tables).
Each has a ``main(argv)`` behind its script. Every output goes through
:mod:`mmseg_ext.utils.atomic_io`. Nothing here is registered or imported by
``mmseg_ext``; import the module you need.
"""
