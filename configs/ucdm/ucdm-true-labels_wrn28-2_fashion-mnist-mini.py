# The supervised upper bound beside UCDM in the mini world: the same classifier, losses, schedule
# and generated partners, but every real image of the pool starts labelled with its ground truth
# (known class, or "other" for the unknown images) instead of being labelled by confidence
# rounds: UCDMPairDataset(true_labels=True) trains the pseudo-known / pseudo-unknown branches of
# Appendix A.2 with perfect labels (D is empty, so Algorithm 2's steps hold B known and B
# unknown pairs). It reuses the UCDM config's generated cache.
#   python tools/train.py configs/ucdm/ucdm-true-labels_wrn28-2_fashion-mnist-mini.py
_base_ = ['./ucdm_wrn28-2_fashion-mnist-mini.py']

train_dataloader = dict(dataset=dict(true_labels=True))
custom_hooks = [dict(type='FiniteLossHook'), {{_base_.pool_bn}}]
