# Fig. 4(a), second row, at paper scale (CIFAR-10, mismatch 60%):
# L_generated^(D_P, D_N) + L_generated^(D_known, D'_N): labelling as UCDM, but the pseudo-unknown
# set never trains (its images still leave D); everything else is ucdm_wrn28-2_cifar10-m60.py.
#   python tools/train.py configs/ucdm/ucdm-fig4a-known_wrn28-2_cifar10-m60.py
_base_ = ['./ucdm_wrn28-2_cifar10-m60.py']

train_dataloader = dict(batch_sampler=dict(branches=('generated', 'pseudo_known')))
