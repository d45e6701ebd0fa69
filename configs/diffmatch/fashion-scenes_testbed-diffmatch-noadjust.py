# DiffMatch without the debiased adjustment on the testbed (Table 5's "DiffMatch w/o adj."):
# tau = 0 (Eqs. 4-6 only); otherwise fashion-scenes_testbed-diffmatch.py.
_base_ = ['./fashion-scenes_testbed-diffmatch.py']
model = dict(segmentor=dict(loss=dict(tau=0.0)))
