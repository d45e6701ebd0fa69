# Fig. 4(a), first row, in the mini world: the generated pairs' loss L_generated^(D_P, D_N)
# alone (Eq. 9), no confidence labelling, so no real image ever trains. Everything else is
# UCDM's (ucdm_wrn28-2_fashion-mnist-mini.py), its cache included.
#   python tools/train.py configs/ucdm/ucdm-fig4a-generated_wrn28-2_fashion-mnist-mini.py
_base_ = ['./ucdm_wrn28-2_fashion-mnist-mini.py']

custom_hooks = [dict(type='FiniteLossHook'), {{_base_.pool_bn}}]
