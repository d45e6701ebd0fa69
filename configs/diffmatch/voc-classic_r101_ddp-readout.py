# DiffMatch on PASCAL VOC 2012 classic 1/16 (voc-classic_r101.py) with DDP's readout, the other
# reading of the paper (docs/diffmatch.md, the readout rows of the fidelity table): the paper's Algorithms 2-3 are those of
# DDP (Ji et al. 2023), which reads out class logits, trains them with cross-entropy and its
# extractor with an FCN auxiliary head of weight 0.4, and re-encodes the argmax at every DDIM
# step. Here: the denoiser predicts 21 logits (MaskDenoiser readout='logits'), the loss is
# cross-entropy plus the debiased adjustment on the softmax posterior (tau = 0.1,
# DebiasedCrossEntropyLoss), the auxiliary FCN head reads z on labelled data only, and the noisy
# mask stays the paper's analog bits (b = 0.1), re-encoded from the argmax at each step.
_base_ = ['./voc-classic_r101.py']
model = dict(
    segmentor=dict(
        denoiser=dict(readout='logits'),
        loss=dict(type='DebiasedCrossEntropyLoss', tau=0.1),
        auxiliary_head=dict(
            type='mmseg.FCNHead',
            in_channels=256,  # z
            in_index=0,
            channels=256,
            num_convs=1,
            concat_input=False,
            dropout_ratio=0.1,
            num_classes={{_base_.num_classes}},
            norm_cfg={{_base_.norm_cfg}},
            align_corners=False,
            loss_decode=dict(type='mmseg.CrossEntropyLoss', use_sigmoid=False,
                             loss_weight=0.4))))
