#!/usr/bin/env python
"""Draw image | ground truth | prediction of a checkpoint for some val images.

Usage::

    python tools/analysis_tools/show_predictions.py CONFIG CHECKPOINT \\
        --images data/camvid/val/0016E5_07959.png ... \\
        [--labels data/camvid/valannot/0016E5_07959.png ...] --out OUT.png

With ``--split-names NAME ...`` instead of ``--images``/``--labels``, the
frames are taken from the config's val dataset (``data_root`` + its
``data_prefix``). Colours and legend come from the dataset's ``metainfo``;
the library code is :mod:`mmseg_ext.visualization.panels`.
"""
import argparse
import os.path as osp

from mmseg_ext.apis import build_model
from mmseg_ext.visualization import predict_label_maps, save_prediction_panels


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--images', nargs='+', help='image files')
    parser.add_argument(
        '--labels', nargs='+', help='their label maps (optional)')
    parser.add_argument(
        '--split-names',
        nargs='+',
        help='file names of the config\'s val split instead of --images')
    parser.add_argument('--data-root', help='override the val data_root')
    parser.add_argument('--title', help='figure title')
    parser.add_argument('--out', required=True, help='PNG to write')
    args = parser.parse_args(argv)
    if bool(args.images) == bool(args.split_names):
        parser.error('give either --images or --split-names')
    return args


def main(argv=None) -> str:
    args = parse_args(argv)
    model = build_model(args.config, args.checkpoint)
    dataset = model.cfg.val_dataloader.dataset
    if args.split_names:
        root = args.data_root or dataset.data_root
        prefix = dataset.data_prefix
        images = [osp.join(root, prefix.img_path, n) for n in args.split_names]
        labels = [
            osp.join(root, prefix.seg_map_path, n) for n in args.split_names
        ]
    else:
        images, labels = args.images, args.labels
    meta = model.dataset_meta or {}
    if 'classes' not in meta:
        raise ValueError(f'{args.checkpoint} holds no dataset_meta '
                         '(classes, palette): give a checkpoint written by '
                         'mmengine\'s runner')
    from mmseg.registry import DATASETS
    label_map = DATASETS.get(dataset.type).get_label_map(None)
    out = save_prediction_panels(
        images,
        predict_label_maps(model, images),
        args.out,
        meta['classes'],
        meta['palette'],
        ground_truths=labels,
        title=args.title,
        label_map=label_map)
    print(f'wrote {out}')
    return out


if __name__ == '__main__':
    main()
