# Extension, not the paper: the mini DiffMatch with the sampling-time debias, each DDIM step's
# prediction replaced by the code mean of its posterior divided by (C p)^alpha (DiffMatch
# debias_sampling; the paper's Sec. 3.3 moves the adjustment into the loss instead). Reported as
# its own row. alpha = 0.35 was chosen on the reported validation scenes
# (deeplabv3plus_m-v2-d8_mini_diffmatch.py, docs/notes/diffmatch.md): choose it again on a dev
# split before reporting (--cfg-options model.segmentor.debias_sampling=ALPHA). Its
# discriminative counterpart: fashion-scenes_dis-baseline-logit-adjust_1-16.py.
_base_ = ['./fashion-scenes_diffmatch_1-16.py']
model = dict(segmentor=dict(debias_sampling=0.35))
