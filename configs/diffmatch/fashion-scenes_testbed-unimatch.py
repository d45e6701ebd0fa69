# UniMatch on the testbed (docs/notes/diffmatch_testbed.md; the third gate: >= supervised-only
# + 3 mIoU): the mini DeepLabv3+ classifier (deeplabv3plus_m-v2-d8_mini_unimatch.py) from the
# seed's supervised checkpoint, UniMatch's loop: the same network labels the weak view, pixels of
# confidence >= 0.95 (UniMatch's), CutMix 0.5, feature dropout 0.5; `burn_in_iters` on the
# labelled scenes first, as every testbed arm.
_base_ = [
    '../_base_/datasets/fashion-scenes_testbed.py',
    '../_base_/models/deeplabv3plus_m-v2-d8_mini_unimatch.py',
    '../_base_/schedules/adamw-poly_testbed.py',
    '../_base_/default_runtime.py',
]
model = dict(
    data_preprocessor=dict(type='MultiBranchSegDataPreProcessor',
                           data_preprocessor={{_base_.data_preprocessor}}),
    segmentor=dict(
        backbone=dict(init_cfg=None),  # the start checkpoint holds the extractor
        decode_head=dict(num_classes={{_base_.num_classes}}),
        init_cfg=dict(type='Pretrained', checkpoint={{_base_.start_checkpoint}})),
    confidence_threshold=0.95,
    cutmix_prob=0.5,
    burn_in_iters={{_base_.burn_in_iters}})
# Pseudo-label counts per class against the ground truth of the same unlabelled views (Figs. 1
# and 8; the testbed's unlabelled scenes carry it for this alone):
# <work_dir>/pseudo_label_stats.{json,png}.
custom_hooks = [dict(type='PseudoLabelStatsHook', interval=50)]
