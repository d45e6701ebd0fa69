# PASCAL VOC 2012 'blender' for semi-supervised segmentation: labelled and unlabelled images
# from the 10,582 of VOC + SBD (a label is SegmentationClass/<id>.png where it exists, else
# SBD's SegmentationClassAug/<id>.png), evaluated on the 1,449 val images at original size.
# Everything but the split files is voc_classic_semi.py's (data_root: CDMX_VOC). Split files:
#   python tools/dataset_converters/make_semi_splits.py $CDMX_VOC --layout voc_blender
# head/tail ranking: class_pixel_counts='<data_root>/splits/voc_blender/class_pixel_counts.json'.
_base_ = ['./voc_classic_semi.py']

split = '1_16'  # 662 of the 10,582 images
labelled_dataset = dict(
    type='SplitListDataset',
    dataset={{_base_.source}},
    split_file=f'splits/voc_blender/{split}/labeled.txt',
    with_labels=True,
    num_classes={{_base_.num_classes}},
    pipeline={{_base_.labelled_pipeline}})
unlabelled_dataset = dict(
    labelled_dataset,
    split_file=f'splits/voc_blender/{split}/unlabeled.txt',
    with_labels=False,
    pipeline={{_base_.unlabelled_pipeline}})
train_dataloader = dict(dataset=dict(datasets=[labelled_dataset, unlabelled_dataset]))
