# UCDM in the mini world with the official code's batch norm (issue 16's BN study, docs/ucdm.md
# "Batch norm"): every forward pass normalises with its own batch's statistics, the BN affine
# parameters freeze after the first step, and the test images are scored in batches of one kind
# each, as the official code's separate known / unknown / new test loaders do
# (KindBatchSampler). Transductive: a test batch's statistics are those of one kind's images.
#   python tools/train.py configs/ucdm/ucdm-bn-batch_wrn28-2_fashion-mnist-mini.py
_base_ = ['./ucdm_wrn28-2_fashion-mnist-mini.py']

model = dict(bn_policy=dict(freeze_affine_after=1, eval_statistics='batch'))
test_dataloader = dict(batch_sampler=dict(type='KindBatchSampler'))
