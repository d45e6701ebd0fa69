# Table 2's "+PLM" row in the mini world: pseudo-label matching (Algorithm 1, Eqs. 10-12)
# without the label-matching refinement.
# Guidance by noisy-classifier_fashion-mnist-mini_pseudo-labels-plm.py; everything else as
# sample_fashion-mnist-mini_pseudo-labels.py (the "+LMR" row, full GDUI).
#   python tools/gdui/sample.py configs/gdui/sample_fashion-mnist-mini_pseudo-labels-plm.py \
#       --unet-checkpoint work_dirs/unet_fashion-mnist-mini/last_checkpoint \
#       --classifier-checkpoint \
#           work_dirs/noisy-classifier_fashion-mnist-mini_pseudo-labels-plm/last_checkpoint
_base_ = ['./sample_fashion-mnist-mini_pseudo-labels.py']

classifier_config = '{{fileDirname}}/noisy-classifier_fashion-mnist-mini_pseudo-labels-plm.py'
