# DiffMatch on the testbed with DDP's readout (the other reading of the paper, docs/diffmatch.md,
# readout rows of the fidelity table): the denoiser predicts class logits (MaskDenoiser
# readout='logits'), scored by cross-entropy plus the debiased adjustment on the softmax
# posterior (DebiasedCrossEntropyLoss, tau = 0.1), the noisy mask re-encoded from the argmax at
# every step of Algorithm 3. Everything else, the auxiliary head included, as
# fashion-scenes_testbed-diffmatch.py (the paper's L2 readout on analog bits), so the pair
# differs in the readout alone.
_base_ = ['./fashion-scenes_testbed-diffmatch.py']
model = dict(segmentor=dict(denoiser=dict(readout='logits'),
                            loss=dict(_delete_=True, type='DebiasedCrossEntropyLoss', tau=0.1)))
