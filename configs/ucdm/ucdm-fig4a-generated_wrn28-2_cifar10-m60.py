# Fig. 4(a), first row, at paper scale (CIFAR-10, mismatch 60%): L_generated^(D_P, D_N) alone
# (Eq. 9), no confidence labelling; everything else is ucdm_wrn28-2_cifar10-m60.py.
#   python tools/train.py configs/ucdm/ucdm-fig4a-generated_wrn28-2_cifar10-m60.py
_base_ = ['./ucdm_wrn28-2_cifar10-m60.py']

custom_hooks = [dict(type='FiniteLossHook'), dict(type='DatasetEpochHook'), {{_base_.pool_bn}}]
