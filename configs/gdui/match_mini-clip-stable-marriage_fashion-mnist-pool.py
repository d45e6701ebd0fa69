# GDUI pseudo-label matching and label-matching refinement (§3.3-3.4) in the mini world: the
# mini CLIP scores the Fashion-MNIST train pool against the user's 10 class names, a stable
# marriage names the joint stage's clusters (Algorithm 1, Eqs. 10-12) and the refinement hands
# the low-confidence members of the clusters it does not trust to CLIP (§3.4, Eqs. 13-18).
#   python tools/gdui/match_labels.py configs/gdui/match_mini-clip-stable-marriage_fashion-mnist-pool.py
# writes work_dirs/match_mini-clip-stable-marriage_fashion-mnist-pool/labels_{plg,plm,lmr}.json
# (the labels the noisy classifier of §3.5 trains on). Swap `matcher` for the Hungarian one in
# match_mini-clip-hungarian_fashion-mnist-pool.py.
default_scope = 'cdmx'
_base_ = ['../_base_/datasets/fashion-mnist_pool_gdui.py']

# tools/gdui/export_clusters.py's output for the joint stage.
pseudo_labels = 'work_dirs/spice-joint_resnet18-w16_fashion-mnist-pool/pseudo_labels'

# The mini CLIP that configs/foundation/mini_clip.py pretrains on the external pool
# (environment variable CDMX_MINI_CLIP: its folder).
clip_dir = '{{$CDMX_MINI_CLIP:work_dirs/foundation/mini_clip}}'
scorer = dict(
    type='CLIPZeroShotScorer',
    model_name='MiniCLIP-ViT-4',
    checkpoint=clip_dir + '/MiniCLIP-ViT-4.pt',
    config_dir=clip_dir + '/model_configs',
    prompt_template='A photo of a {}.',  # the mini CLIP's training captions
    n_top=100,  # N_top of Eq. 11
    canvas_size=32,  # 28x28 centred on 32x32, as the mini CLIP was trained
    batch_size=500)
matcher = dict(type='StableMarriageMatcher')
# Every threshold of §3.4 (Eqs. 13-18); the paper gives no values: chosen here for clusters of
# ~5,000 images. sigma_btm: tools/analysis_tools/gdui_sigma_sweep.py draws its effect (Fig. 4).
refinement = dict(
    type='LabelMatchingRefinement',
    n_top=100,  # N_top of Eqs. 11 and 14 (the scorer's)
    n_btm=500,  # N_btm of Eqs. 13, 15 and 17
    w_top=0.5,  # Eq. 16
    w_btm=0.5,
    lambda_delta=0.8,  # trusted when delta_m > lambda_delta
    lambda_top=0.9,
    lambda_btm=0.6,
    sigma_btm=0.5)  # r_btm threshold (Eq. 17) and X_adj's bound (Eq. 18)
