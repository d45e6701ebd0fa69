# Table 1's baseline in the paper setting: the noisy-image classifier trained with STL-10's true
# labels instead of GDUI's pseudo-labels.
#   python tools/train.py configs/gdui/noisy-classifier_stl10_gt-labels.py
_base_ = ['./noisy-classifier_stl10_pseudo-labels.py']

train_dataloader = dict(
    dataset=dict(_delete_=True, type='STL10', data_root={{_base_.data_root}},
                 merge_train_test=True, pipeline={{_base_.train_pipeline}}))
