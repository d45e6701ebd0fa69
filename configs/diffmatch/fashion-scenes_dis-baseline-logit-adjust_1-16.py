# Extension, not the paper: the mini Dis. Baseline with the post-hoc logit adjustment
# s_c - alpha log p(c) (Menon et al. 2020) at inference and for its pseudo-labels, the
# discriminative counterpart of fashion-scenes_diffmatch-debias-sampling_1-16.py (same alpha;
# both to be chosen on a dev split: --cfg-options model.segmentor.logit_adjust=ALPHA).
_base_ = ['./fashion-scenes_dis-baseline_1-16.py']
model = dict(segmentor=dict(logit_adjust=0.35))
