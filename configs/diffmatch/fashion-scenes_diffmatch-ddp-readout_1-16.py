# The mini DiffMatch with DDP's readout (docs/diffmatch.md, the readout rows of the fidelity table): the denoiser predicts
# class logits (MaskDenoiser readout='logits') scored by cross-entropy plus the debiased
# adjustment on the softmax posterior (tau = 0.1), DDP's FCN auxiliary head (weight 0.4) on z,
# the noisy mask in analog bits b = 0.1 re-encoded from the argmax at every step of Algorithm 3
# (3 steps, td = 1, Algorithm 2's schedule), no sampling-time debias. Otherwise as its pair with
# the paper's readout, fashion-scenes_diffmatch-paper-readout_1-16.py.
_base_ = ['./fashion-scenes_diffmatch-paper-readout_1-16.py']
model = dict(
    segmentor=dict(
        denoiser=dict(readout='logits'),
        auxiliary_head=dict(
            _delete_=True,  # None in the base
            type='mmseg.FCNHead',
            in_channels=128,  # z
            in_index=0,
            channels=128,
            num_convs=1,
            concat_input=False,
            dropout_ratio=0.1,
            num_classes={{_base_.num_classes}},
            norm_cfg={{_base_.norm_cfg}},
            align_corners=False,
            loss_decode=dict(type='mmseg.CrossEntropyLoss', use_sigmoid=False,
                             loss_weight=0.4)),
        loss=dict(type='DebiasedCrossEntropyLoss')))
