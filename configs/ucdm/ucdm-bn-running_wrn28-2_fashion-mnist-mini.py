# UCDM in the mini world with the batch-norm statistics of the paper's text: the running
# statistics gathered during training (mostly on generated images) label the pool and test,
# instead of the default's re-estimation on the real unlabeled pool (issue 16's BN study,
# docs/ucdm.md "Batch norm").
#   python tools/train.py configs/ucdm/ucdm-bn-running_wrn28-2_fashion-mnist-mini.py
_base_ = ['./ucdm_wrn28-2_fashion-mnist-mini.py']

model = dict(bn_policy=dict(eval_statistics='running'))
