# Table 1's baseline in the mini world: guidance by the noisy classifier trained on the true
# labels (noisy-classifier_fashion-mnist-mini_gt-labels.py); everything else as
# sample_fashion-mnist-mini_pseudo-labels.py.
#   python tools/gdui/sample.py configs/gdui/sample_fashion-mnist-mini_gt-labels.py \
#       --unet-checkpoint work_dirs/unet_fashion-mnist-mini/last_checkpoint \
#       --classifier-checkpoint \
#           work_dirs/noisy-classifier_fashion-mnist-mini_gt-labels/last_checkpoint \
#       --out-dir work_dirs/gdui_samples/gt-labels
_base_ = ['./sample_fashion-mnist-mini_pseudo-labels.py']

classifier_config = '{{fileDirname}}/noisy-classifier_fashion-mnist-mini_gt-labels.py'
