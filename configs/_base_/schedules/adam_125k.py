# UCDM's classifier optimiser (official implementation, classifier_training: Adam, constant
# learning rate 5e-3, batch 32, 400 epochs): 400 epochs of the 10,000 known-class CIFAR-10
# images at batch 32 are 125,000 iterations.
max_iters = 125000
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=5e-3))
param_scheduler = []
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=5000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
