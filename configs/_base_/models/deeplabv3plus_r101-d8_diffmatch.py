# DiffMatch (paper defaults): the extractor g of deeplabv3plus_r101-d8_extractor.py, a mask
# denoiser of L = 4 multi-scale deformable-attention layers (256-d, 8 heads, 3 levels, 4 points),
# analog-bit labels in {-b, b} with b = 0.1 (Table 8), the debiased loss with tau = 0.1
# (Eqs. 9-11), DDIM with 3 steps and td = 0 (Algorithm 3), inside the teacher-student loop
# (weak view -> pseudo-labels of every pixel, strong view + CutMix + feature dropout -> loss).
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
    bit_scale=0.1)
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
        td=0.0,
        test_cfg=dict(mode='whole')),
    unsup_weight=1.0,
    confidence_threshold=0.0,  # DiffMatch keeps every pseudo-labelled pixel
    cutmix_prob=0.5,
    feature_dropout=0.5,
    ema_momentum=0.01,
    prior_momentum=0.99,
    predict_on='teacher')
