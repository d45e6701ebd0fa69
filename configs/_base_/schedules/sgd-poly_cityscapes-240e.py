# DiffMatch / UniMatch on Cityscapes: SGD (momentum 0.9, weight decay 1e-4) with learning rate
# 0.005 on every parameter (UniMatch's configs/cityscapes.yaml: lr 0.005, lr_multi 1.0; its
# PASCAL and COCO configs use lr_multi 10.0 on the heads, which voc-*.py and coco_r101.py add),
# poly decay with power 0.9 to 0 over 240 epochs. An epoch is one pass over the unlabelled images
# at 8 per iteration (1 per GPU on 8 GPUs, with 8 labelled ones beside them; UniMatch repeats
# the labelled split to the unlabelled length): 1/16 split = 2,975 - 186 = 2,789 unlabelled ->
# 349 iterations per epoch, 83,760 iterations. A config with another split or GPU count sets
# iters_per_epoch (and must then recompute the three values below it, which Python configs
# evaluate once).
# Learning rate and decay are UniMatch's (the DiffMatch paper follows UniMatch's setting).
# The learning rate is set for a global batch of 16 images (8 labelled + 8 unlabelled):
# auto_scale_lr records it, GlobalBatchHook logs the run's own and warns when they differ, and
# --cfg-options auto_scale_lr.enable=True scales the rate linearly (docs/diffmatch.md).
iters_per_epoch = 349
max_epochs = 240
max_iters = max_epochs * iters_per_epoch
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.005, momentum=0.9, weight_decay=1e-4))
auto_scale_lr = dict(enable=False, base_batch_size=16)
param_scheduler = [
    dict(type='PolyLR', power=0.9, eta_min=0.0, begin=0, end=max_iters, by_epoch=False),
]
# Validation every 20 epochs (checkpoints: default_runtime's, every 1,000 iterations, 3 kept).
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=20 * iters_per_epoch)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
