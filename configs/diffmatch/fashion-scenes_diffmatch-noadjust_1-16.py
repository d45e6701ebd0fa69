# DiffMatch without the debiased adjustment (tau = 0: Eqs. 4-6 only) in the mini world;
# otherwise fashion-scenes_diffmatch_1-16.py.
_base_ = ['./fashion-scenes_diffmatch_1-16.py']
model = dict(segmentor=dict(loss=dict(tau=0.0)))
