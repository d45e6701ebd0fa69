# DiffMatch in the mini world: the settings of deeplabv3plus_r101-d8_diffmatch.py (L = 4,
# analog bits b = 0.1, tau = 0.1, 3 DDIM steps) on the MobileNetV2 extractor of
# deeplabv3plus_m-v2-d8_mini_extractor.py, with a 128-d denoiser (4 heads, 3 levels = 16x16,
# 8x8, 4x4 of a 64x64 scene).
# Pseudo-labels: both semi-supervised mini runs share one rule, a 500-iteration burn-in on the
# labelled branch and pixels whose posterior reaches 0.95 (for analog bits the independent-bit
# posterior, cdmx.diffusion.analog_bits). Measured without them (threshold 0, no burn-in): a
# fresh teacher labels a quarter of the pixels Sneaker, later the undecided bits of every item
# decode as code 0001 (T-shirt/top) and the student collapses to background + T-shirt.
_base_ = ['./deeplabv3plus_m-v2-d8_mini_extractor.py']
denoiser = dict(
    type='MaskDenoiser',
    embed_dims=128,
    num_layers=4,
    num_heads=4,
    num_levels=3,
    num_points=4,
    feedforward_channels=256,
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
    confidence_threshold=0.95,
    cutmix_prob=0.5,
    feature_dropout=0.5,
    ema_momentum=0.01,
    prior_momentum=0.99,
    predict_on='teacher',
    burn_in_iters=500)
