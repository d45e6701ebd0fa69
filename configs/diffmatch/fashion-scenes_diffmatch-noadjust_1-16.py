# DiffMatch without the debiased adjustment in the mini world: tau = 0 (Eqs. 4-6 only; the
# sampling-time debias is off in the base too); otherwise fashion-scenes_diffmatch_1-16.py.
_base_ = ['./fashion-scenes_diffmatch_1-16.py']
model = dict(segmentor=dict(loss=dict(tau=0.0)))
