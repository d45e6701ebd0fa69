# DiffMatch Table 5's "Dis. Baseline": "a discriminative baseline with the same extra deformable
# attention layers" as the mask denoiser, in DiffMatch's loop. The extractor g of
# deeplabv3plus_r101-d8_extractor.py, then the denoiser's L = 4 deformable-attention layers
# (256-d, 8 heads, 3 levels, 4 points, FFN 1024; deeplabv3plus_r101-d8_diffmatch.py, the config
# test checks they stay equal) without what only diffusion needs (noisy-mask embedding, time MLP,
# FiLM), and a 1x1 classifier to C logits trained with cross-entropy
# (cdmx.models.heads.DeformableReadoutASPPHead). The loop is DiffMatch's: the identical network
# labels every pixel of the weak view (confidence 0), no CutMix, feature dropout 0.5.
# A DiscriminativeSegmentor, so the post-hoc logit adjustment (the counterpart of DiffMatch's
# debias_sampling extension) is model.segmentor.logit_adjust = alpha (0 here: none).
_base_ = ['./deeplabv3plus_r101-d8_unimatch.py']
model = dict(
    segmentor=dict(
        decode_head=dict(
            type='DeformableReadoutASPPHead',
            readout=dict(embed_dims=256, num_layers=4, num_heads=8, num_levels=3, num_points=4,
                         feedforward_channels=1024, dropout=0.0))),
    confidence_threshold=0.0,
    cutmix_prob=0.0)
