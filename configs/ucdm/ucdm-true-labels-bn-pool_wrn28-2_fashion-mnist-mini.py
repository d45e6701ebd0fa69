# The true-label upper bound (ucdm-true-labels_wrn28-2_fashion-mnist-mini.py) with BN statistics
# re-estimated on the real unlabeled pool before testing (PoolBatchNormHook), the bound of
# ucdm-bn-pool_wrn28-2_fashion-mnist-mini.py.
#   python tools/train.py configs/ucdm/ucdm-true-labels-bn-pool_wrn28-2_fashion-mnist-mini.py
_base_ = ['./ucdm-true-labels_wrn28-2_fashion-mnist-mini.py']

custom_hooks = [
    dict(type='FiniteLossHook'),
    dict(type='PoolBatchNormHook',
         pool=dict(batch_size=250, num_workers=0, dataset={{_base_.unlabeled_pool}},
                   sampler=dict(type='DefaultSampler', shuffle=False))),
]
