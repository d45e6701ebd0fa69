# GDUI pseudo-label generation, stage 3 (§3.2, Eqs. 7-9) in the mini world: the feature model
# and the best EM head are trained together on the reliable samples (those whose N_s cosine
# neighbours mostly share their cluster, Eqs. 7-8; cross-entropy on a weak view) and on confident
# weak-view predictions that supervise a strong view (Eq. 9, FixMatch-style).
#   python tools/gdui/select_reliable.py configs/gdui/spice-joint_resnet18-w16_fashion-mnist-pool.py
#   python tools/train.py configs/gdui/spice-joint_resnet18-w16_fashion-mnist-pool.py
#   python tools/gdui/export_clusters.py configs/gdui/spice-joint_resnet18-w16_fashion-mnist-pool.py \
#       work_dirs/spice-joint_resnet18-w16_fashion-mnist-pool/iter_200.pth
# The first command reads the EM stage's export (`pseudo_labels`) and writes `reliable_file`;
# the last writes P, the features and the cluster labels to
# work_dirs/spice-joint_resnet18-w16_fashion-mnist-pool/pseudo_labels/ for matching.
_base_ = ['./spice-self_resnet18-w16_fashion-mnist-pool.py']

# Inputs of tools/gdui/select_reliable.py: the EM stage's export and the Eq. 7-8 labeler.
pseudo_labels = 'work_dirs/spice-self_resnet18-w16_fashion-mnist-pool/pseudo_labels'
# min_per_cluster: a cluster with fewer reliable samples keeps its most consistent members up to
# this number (cdmx's addition). The EM stage's smallest cluster (79 images) has none at 0.95;
# with all 79 kept it still comes out of the joint stage with no member (measured), and
# matching names it by its column of P (docs/gdui.md).
pseudo_labeler = dict(type='ReliableSampleLabeler', num_neighbors=100, threshold=0.95,
                      min_per_cluster=100)
reliable_file = 'work_dirs/spice-joint_resnet18-w16_fashion-mnist-pool/reliable.json'

# The whole EM model (features, heads, head losses) is the starting point.
load_from = 'work_dirs/spice-self_resnet18-w16_fashion-mnist-pool/iter_150.pth'
model = dict(
    stage='joint',
    backbone=dict(init_cfg=None),
    confident_labeler=dict(type='ConfidentLabeler', threshold=0.95),
    confident_weight=1.0)

train_dataloader = dict(
    batch_size=128,
    dataset=dict(_delete_=True, type='ReliableSamplesDataset', dataset={{_base_.pool}},
                 reliable_file=reliable_file, pipeline={{_base_.joint_pipeline}}))

# FixMatch's optimiser (SGD, Nesterov momentum 0.9, weight decay 5e-4) with cosine decay.
# ~1.5 s per iteration of 128 images (two views, backward through the ResNet) on one core.
max_iters = 200
optim_wrapper = dict(_delete_=True, type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.01, momentum=0.9, nesterov=True,
                                    weight_decay=5e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_iters, eta_min=0.0, by_epoch=False, begin=0,
         end=max_iters),
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters))
