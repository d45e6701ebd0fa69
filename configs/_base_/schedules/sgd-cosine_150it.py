# A short iteration-based schedule for the mini world on CPUs: SGD with Nesterov momentum 0.9
# and weight decay 5e-4 (FixMatch's optimiser), 15 iterations of linear warm-up from 1% of the
# learning rate, then cosine annealing to zero.
max_iters = 150
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.03, momentum=0.9, nesterov=True, weight_decay=5e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=15),
    dict(type='CosineAnnealingLR', T_max=max_iters - 15, eta_min=0.0, by_epoch=False, begin=15,
         end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
