# UCDM's classifier training at paper scale (Table 14 and §B.6): Adam, constant learning rate
# 5e-3, 400 epochs over the current training set (generated pairs of the seeds still in D plus
# the pseudo-labelled images), confidence labelling every 40 epochs for 10 rounds with
# delta = 0.98; the PoolBatchNormHook re-estimates BN statistics on the real pool before testing
# when the model's policy says eval_statistics='pool' (cdmx.models.bn_policy). Epoch-based, so the set shrinks between epochs as images leave D; the labelling
# pool is train_dataloader.dataset.real. Configs using it count hooks and logs by epoch:
# default_hooks = dict(logger=dict(log_metric_by_epoch=True), checkpoint=dict(by_epoch=True, ...))
# and log_processor = dict(by_epoch=True).
max_epochs = 400
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=5e-3))
param_scheduler = []
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs + 1)
val_cfg = None
test_cfg = dict(type='TestLoop')

pool = dict(batch_size=256, num_workers=4, sampler=dict(type='DefaultSampler', shuffle=False))
pool_bn = dict(type='PoolBatchNormHook', pool=pool)
custom_hooks = [
    dict(type='FiniteLossHook'),
    dict(type='DatasetEpochHook'),
    pool_bn,
    dict(type='ConfidenceLabellingHook',
         pool=pool,
         labeler=dict(type='ConfidencePairLabeler', delta=0.98),
         interval=40,
         max_rounds=10,
         by_epoch=True),
]
