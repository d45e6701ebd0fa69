# The testbed schedule (adamw-poly_testbed.py) for the arms whose readout the supervised
# checkpoint lacks (Dis. Baseline's deformable layers, DiffMatch's denoiser): a labelled burn-in
# of `burn_in_iters` = 1,200 iterations, then the same `loop_iters` of the loop as every other
# arm (the 320 of adamw-poly_testbed.py: a config cannot compute with its base's values).
# Chosen on the dev scenes (docs/notes/diffmatch_testbed.md, "the new readouts' burn-in"):
# with the 80 iterations that suit a readout already trained, DiffMatch's denoiser had not
# learnt to label (35.2 dev mIoU, -15.7 below Dis. Baseline); with 1,200 it reached 49.5.
_base_ = ['./adamw-poly_testbed.py']
loop_iters = 320
burn_in_iters = 1200
arm_iters = burn_in_iters + loop_iters
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end={{_base_.warmup_iters}}),
    dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=False, begin={{_base_.warmup_iters}},
         end=arm_iters),
]
train_cfg = dict(max_iters=arm_iters, val_interval=arm_iters)
