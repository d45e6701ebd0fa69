# The true-label upper bound (ucdm-true-labels_wrn28-2_fashion-mnist-mini.py) under the official
# code's batch norm, the bound of ucdm-bn-batch_wrn28-2_fashion-mnist-mini.py.
#   python tools/train.py configs/ucdm/ucdm-true-labels-bn-batch_wrn28-2_fashion-mnist-mini.py
_base_ = ['./ucdm-true-labels_wrn28-2_fashion-mnist-mini.py']

model = dict(bn_policy=dict(freeze_affine_after=1, eval_statistics='batch'))
test_dataloader = dict(batch_sampler=dict(type='KindBatchSampler'))
