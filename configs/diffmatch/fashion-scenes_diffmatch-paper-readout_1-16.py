# The mini DiffMatch (fashion-scenes_diffmatch_1-16.py) with the paper's readout and sampling
# (docs/diffmatch.md, the readout rows of the fidelity table): analog bits b = 0.1 regressed with the squared error plus the
# debiased adjustment (tau = 0.1), no auxiliary head, Algorithm 3 (3 steps, td = 1, Algorithm 2's
# schedule, thresholded bits re-encoded at every step), no sampling-time debias.
# Its pair with DDP's readout: fashion-scenes_diffmatch-ddp-readout_1-16.py.
_base_ = ['./fashion-scenes_diffmatch_1-16.py']
model = dict(
    segmentor=dict(
        denoiser=dict(label_encoding='analog_bits', bit_scale=0.1, readout='regression',
                      reencode=True),
        auxiliary_head=None,
        loss=dict(type='DebiasedDiffusionLoss', tau=0.1),
        debias_sampling=0.0,
        steps=3,
        td=1.0,
        schedule=dict(type='OffsetCosineLogSNRSchedule')))
