# DiffMatch Table 5's "Dis. Baseline" in the mini world: the mini extractor, the mini mask
# denoiser's deformable-attention layers (256-d, L = 4, 8 heads, 3 levels, 2 points, FFN 512;
# deeplabv3plus_m-v2-d8_mini_diffmatch.py, the config test checks they stay equal) without the
# diffusion parts, and a classifier trained with cross-entropy (DeformableReadoutASPPHead), in
# the mini DiffMatch's loop (configs/diffmatch/fashion-scenes_diffmatch_1-16.py: the same network
# labels the weak view, confidence 0.8, burn-in 1,000 iterations, no CutMix, feature dropout).
_base_ = ['./deeplabv3plus_m-v2-d8_mini_unimatch.py']
model = dict(
    segmentor=dict(
        decode_head=dict(
            type='DeformableReadoutASPPHead',
            readout=dict(embed_dims=256, num_layers=4, num_heads=8, num_levels=3, num_points=2,
                         feedforward_channels=512, dropout=0.0))),
    cutmix_prob=0.0)
