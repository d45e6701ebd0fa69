# Fig. 4(a), second row, in the mini world: L_generated^(D_P, D_N) + L_generated^(D_known, D'_N):
# the labelling rounds run as in UCDM, but the pseudo-unknown set never trains (its images still
# leave D). Everything else is UCDM's (ucdm_wrn28-2_fashion-mnist-mini.py), its cache included.
#   python tools/train.py configs/ucdm/ucdm-fig4a-known_wrn28-2_fashion-mnist-mini.py
_base_ = ['./ucdm_wrn28-2_fashion-mnist-mini.py']

train_dataloader = dict(batch_sampler=dict(branches=('generated', 'pseudo_known')))
