# GDUI's classifier built as §3.5 says, in the mini world: "the feature model F and the
# clustering head C from the clustering stage, along with an additional classification head
# C_clf". F (ResNet_CIFAR-18 with 16 base channels, 128-d features) and C (the joint stage's
# chosen head) start from the clustering stage's checkpoint, C_clf (two FC layers) from scratch;
# all three are then trained on noisy x_t like noisy-classifier_fashion-mnist-mini_pseudo-labels.py,
# whose labels, data and schedule it keeps (other label files: CDMX_GDUI_LABELS, or --cfg-options
# train_dataloader.dataset.labels_file=...).
#   python tools/train.py \
#       configs/gdui/noisy-classifier_fashion-mnist-mini_pseudo-labels_clustering-init.py
# needs work_dirs/spice-joint_resnet18-w16_fashion-mnist-pool/last_checkpoint.
#
# The clustering stage's F was trained on clean 32x32 three-channel images normalised with the
# pool's mean and std and has no timestep input: feature_input maps the UNet-scaled x_t back to
# those units (grey repeated over three channels, 28x28 without the 2-pixel padding: the network
# ends in global pooling), the timestep enters every residual block through projections that
# start at zero (so at t = 0 the loaded F computes what it computed in clustering, but for the
# padding), and fine-tuning on x_t teaches it the noise. The mini clustering heads are single
# linear layers (spice-self_resnet18-w16_fashion-mnist-pool.py), so C is one FC layer here, not
# the two of §4.2.
# Cost (torch.utils.flop_counter): the classifier's forward and input gradient are 115 MFLOPs per
# 28x28 image against WRN-10-1's 37, so a guided step is 1.8x an unguided one (UNet: 144)
# instead of 1.26x; training takes 0.20 s of CPU time per iteration (WRN-10-1: 0.085 s).
_base_ = ['./noisy-classifier_fashion-mnist-mini_pseudo-labels.py']

clustering_checkpoint = 'work_dirs/spice-joint_resnet18-w16_fashion-mnist-pool/last_checkpoint'
model = dict(
    backbone=dict(_delete_=True, type='mmpretrain.ResNet_CIFAR', depth=18, stem_channels=16,
                  base_channels=16, norm_cfg=dict(type='BN', momentum=0.01)),
    feat_channels=128,
    cluster_head=dict(in_channels=128, hidden_channels=None),
    cls_head=dict(mid_channels=[128]),
    # The clustering stage's data_preprocessor (configs/_base_/datasets/fashion-mnist_pool_gdui.py).
    feature_input=dict(mean=[72.94, 72.94, 72.94], std=[90.02, 90.02, 90.02]),
    clustering_checkpoint=clustering_checkpoint)
