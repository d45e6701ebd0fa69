# DiffMatch (paper defaults): the extractor g of deeplabv3plus_r101-d8_extractor.py, a mask
# denoiser of L = 4 multi-scale deformable-attention layers (256-d, 8 heads, 3 levels, 4 points),
# inside the teacher-student loop (the same network labels every pixel of the weak view; strong
# view + feature dropout -> loss).
# The readout is the paper's (docs/diffmatch.md, the readout rows of the fidelity table): the denoiser regresses the analog
# bits of y_0 in {-b, b}, b = 0.1 (Sec. 3.4, Table 8), scored by the squared error plus the
# debiased adjustment, tau = 0.1 (Eqs. 4-6, 9-11; Algorithm 2's l2_loss), no auxiliary head.
# Sampling is Algorithm 3: 3 DDIM steps with td = 1 on Algorithm 2's log-SNR schedule, each
# prediction thresholded and re-encoded as analog bits before its update.
# DDP's reading (class logits + cross-entropy + an FCN auxiliary head of weight 0.4) is
# configs/diffmatch/voc-classic_r101_ddp-readout.py.
# A config adds model.data_preprocessor = MultiBranchSegDataPreProcessor around its dataset
# base's data_preprocessor, and sets num_classes in model.segmentor.decode_head.
_base_ = ['./deeplabv3plus_r101-d8_extractor.py']
denoiser = dict(
    type='MaskDenoiser',
    embed_dims=256,
    num_layers=4,
    num_heads=8,
    num_levels=3,
    num_points=4,
    feedforward_channels=1024,
    label_encoding='analog_bits',
    bit_scale=0.1,
    readout='regression',
    reencode=True)
model = dict(
    _delete_=True,
    type='SemiSupervisedSegmentor',
    segmentor=dict(
        type='DiffMatch',
        backbone={{_base_.backbone}},
        decode_head={{_base_.decode_head}},
        denoiser=denoiser,
        loss=dict(type='DebiasedDiffusionLoss', tau=0.1),
        steps=3,
        td=1.0,
        schedule=dict(type='OffsetCosineLogSNRSchedule', ns=0.0002, ds=0.00025),
        test_cfg=dict(mode='whole')),
    unsup_weight=1.0,
    confidence_threshold=0.0,  # DiffMatch keeps every pseudo-labelled pixel
    teacher='identical',  # Sec. 3.1: teacher and student identical, following UniMatch
    cutmix_prob=0.0,  # Sec. 4.1's strong augmentations have no CutMix
    feature_dropout=0.5,
    prior_momentum=0.99,
    predict_on='teacher')
