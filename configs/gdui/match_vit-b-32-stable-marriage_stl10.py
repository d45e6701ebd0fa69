# GDUI pseudo-label matching and label-matching refinement (§3.3-3.4) in the paper setting:
# CLIP ViT-B/32 scores STL-10's 13,000 images against the 10 class names; a stable marriage names
# the joint stage's clusters and the refinement (§3.4, Eqs. 13-18) hands the low-confidence members
# of the clusters it does not trust to CLIP.
#   python tools/gdui/match_labels.py configs/gdui/match_vit-b-32-stable-marriage_stl10.py \
#       --cfg-options scorer.device=cuda
# writes work_dirs/match_vit-b-32-stable-marriage_stl10/labels_{plg,plm,lmr}.json.
default_scope = 'cdmx'
_base_ = ['../_base_/datasets/stl10_gdui.py']

pseudo_labels = 'work_dirs/spice-joint_resnet34_stl10/pseudo_labels'

# User-supplied weights (nothing is downloaded): an open_clip state-dict file for ViT-B/32, e.g.
# open_clip_pytorch_model.bin of laion2b_s34b_b79k; environment variable CDMX_CLIP_VIT_B_32.
# OpenAI's weights (timm/vit_base_patch32_clip_224.openai) need model_name='ViT-B-32-quickgelu'.
scorer = dict(
    type='CLIPZeroShotScorer',
    model_name='ViT-B-32',
    checkpoint='{{$CDMX_CLIP_VIT_B_32:data/clip/vit-b-32.bin}}',
    config_dir=None,
    prompt_template='A photo of a {}.',
    n_top=100,
    canvas_size=None,  # CLIP's own preprocessing resizes 96x96 to 224x224
    batch_size=256)
matcher = dict(type='StableMarriageMatcher')
# Clusters of ~1,300 images; the paper gives no values for these thresholds: chosen here.
refinement = dict(
    type='LabelMatchingRefinement',
    n_top=100,  # N_top of Eqs. 11 and 14 (the scorer's)
    n_btm=100,  # N_btm of Eqs. 13, 15 and 17
    w_top=0.5,  # Eq. 16
    w_btm=0.5,
    lambda_delta=0.8,  # trusted when delta_m > lambda_delta
    lambda_top=0.9,
    lambda_btm=0.6,
    sigma_btm=0.5)  # r_btm threshold (Eq. 17) and X_adj's bound (Eq. 18)
