# Table 1's baseline in the mini world: the same noisy-image classifier trained with the true
# labels of the Fashion-MNIST train pool instead of GDUI's pseudo-labels.
#   python tools/train.py configs/gdui/noisy-classifier_fashion-mnist-mini_gt-labels.py
_base_ = ['./noisy-classifier_fashion-mnist-mini_pseudo-labels.py']

train_dataloader = dict(
    dataset=dict(_delete_=True, type='FashionMNIST', data_root={{_base_.data_root}},
                 subset='train_pool', channels=1, pipeline={{_base_.train_pipeline}}))
