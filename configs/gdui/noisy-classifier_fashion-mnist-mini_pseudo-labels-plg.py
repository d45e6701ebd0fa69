# Table 2's "+PLG" row in the mini world: pseudo-label generation only (cluster k is named
# class_names[k], an arbitrary naming, so guidance asks for a cluster, not the named class).
# The noisy-image classifier of noisy-classifier_fashion-mnist-mini_pseudo-labels.py trained
# on labels_plg.json of tools/gdui/match_labels.py
# (match_mini-clip-stable-marriage_fashion-mnist-pool.py).
#   python tools/train.py configs/gdui/noisy-classifier_fashion-mnist-mini_pseudo-labels-plg.py
_base_ = ['./noisy-classifier_fashion-mnist-mini_pseudo-labels.py']

labels_file = 'work_dirs/match_mini-clip-stable-marriage_fashion-mnist-pool/labels_plg.json'
train_dataloader = dict(dataset=dict(labels_file=labels_file))
