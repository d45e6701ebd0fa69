# UCDM in the mini world with BN statistics re-estimated on the real unlabeled pool (issue 16's
# BN study, docs/ucdm.md "Batch norm"): before every labelling round and before testing, the
# running statistics gathered on generated images are replaced by the plain average over the
# pool's real images (ConfidenceLabellingHook(reestimate_bn=True), PoolBatchNormHook). The pool
# is the training set, never the test set, so the test stays non-transductive.
#   python tools/train.py configs/ucdm/ucdm-bn-pool_wrn28-2_fashion-mnist-mini.py
_base_ = ['./ucdm_wrn28-2_fashion-mnist-mini.py']

custom_hooks = [
    dict(type='FiniteLossHook'),
    dict(type='ConfidenceLabellingHook',
         pool={{_base_.labelling_pool}},
         labeler=dict(type='ConfidencePairLabeler', delta=0.98),
         begin=75,  # as ucdm_wrn28-2_fashion-mnist-mini.py
         interval=15,
         max_rounds=6,
         by_epoch=False,
         reestimate_bn=True),
    dict(type='PoolBatchNormHook',
         pool=dict(batch_size=250, num_workers=0, dataset={{_base_.unlabeled_pool}},
                   sampler=dict(type='DefaultSampler', shuffle=False))),
]
