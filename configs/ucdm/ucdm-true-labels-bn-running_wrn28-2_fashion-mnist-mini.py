# The true-label upper bound (ucdm-true-labels_wrn28-2_fashion-mnist-mini.py) tested with the
# running BN statistics of the paper's text: the bound of
# ucdm-bn-running_wrn28-2_fashion-mnist-mini.py.
#   python tools/train.py configs/ucdm/ucdm-true-labels-bn-running_wrn28-2_fashion-mnist-mini.py
_base_ = ['./ucdm-true-labels_wrn28-2_fashion-mnist-mini.py']

model = dict(bn_policy=dict(eval_statistics='running'))
