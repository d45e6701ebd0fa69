# Table 2's "+PLG" row in the mini world: pseudo-label generation only (cluster k is named
# class_names[k], an arbitrary naming, so guidance asks for a cluster, not the named class).
# Guidance by noisy-classifier_fashion-mnist-mini_pseudo-labels-plg.py; everything else as
# sample_fashion-mnist-mini_pseudo-labels.py (the "+LMR" row, full GDUI).
#   python tools/gdui/sample.py configs/gdui/sample_fashion-mnist-mini_pseudo-labels-plg.py \
#       --unet-checkpoint work_dirs/unet_fashion-mnist-mini/last_checkpoint \
#       --classifier-checkpoint \
#           work_dirs/noisy-classifier_fashion-mnist-mini_pseudo-labels-plg/last_checkpoint
_base_ = ['./sample_fashion-mnist-mini_pseudo-labels.py']

classifier_config = '{{fileDirname}}/noisy-classifier_fashion-mnist-mini_pseudo-labels-plg.py'
