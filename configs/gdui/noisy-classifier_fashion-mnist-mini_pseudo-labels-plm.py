# Table 2's "+PLM" row in the mini world: pseudo-label matching (Algorithm 1, Eqs. 10-12)
# without the label-matching refinement.
# The noisy-image classifier of noisy-classifier_fashion-mnist-mini_pseudo-labels.py trained
# on labels_plm.json of tools/gdui/match_labels.py
# (match_mini-clip-stable-marriage_fashion-mnist-pool.py).
#   python tools/train.py configs/gdui/noisy-classifier_fashion-mnist-mini_pseudo-labels-plm.py
_base_ = ['./noisy-classifier_fashion-mnist-mini_pseudo-labels.py']

labels_file = 'work_dirs/match_mini-clip-stable-marriage_fashion-mnist-pool/labels_plm.json'
train_dataloader = dict(dataset=dict(labels_file=labels_file))
