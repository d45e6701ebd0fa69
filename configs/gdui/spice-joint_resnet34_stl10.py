# GDUI pseudo-label generation, stage 3 (§3.2, Eqs. 7-9) in the paper setting: ResNet-34 and the
# best EM head trained on STL-10's reliable samples (N_s = 100 cosine neighbours, ratio >= 0.95)
# plus confident weak-view labels on strong views (tau = 0.95).
#   python tools/gdui/select_reliable.py configs/gdui/spice-joint_resnet34_stl10.py
#   python tools/train.py configs/gdui/spice-joint_resnet34_stl10.py
#   python tools/gdui/export_clusters.py configs/gdui/spice-joint_resnet34_stl10.py \
#       work_dirs/spice-joint_resnet34_stl10/iter_20000.pth --device cuda
_base_ = ['./spice-self_resnet34_stl10.py']

pseudo_labels = 'work_dirs/spice-self_resnet34_stl10/pseudo_labels'
pseudo_labeler = dict(type='ReliableSampleLabeler', num_neighbors=100, threshold=0.95)
reliable_file = 'work_dirs/spice-joint_resnet34_stl10/reliable.json'

load_from = 'work_dirs/spice-self_resnet34_stl10/iter_2600.pth'
model = dict(
    stage='joint',
    backbone=dict(init_cfg=None),
    confident_labeler=dict(type='ConfidentLabeler', threshold=0.95),
    confident_weight=1.0)

train_dataloader = dict(
    batch_size=128,
    dataset=dict(_delete_=True, type='ReliableSamplesDataset', dataset={{_base_.pool}},
                 reliable_file=reliable_file, pipeline={{_base_.joint_pipeline}}))

max_iters = 20000
optim_wrapper = dict(_delete_=True, type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.03, momentum=0.9, nesterov=True,
                                    weight_decay=5e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_iters, eta_min=0.0, by_epoch=False, begin=0,
         end=max_iters),
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=5000))
