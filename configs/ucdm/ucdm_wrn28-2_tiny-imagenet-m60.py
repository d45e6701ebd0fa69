# UCDM at paper scale on Tiny-ImageNet (20/80/100 known/unknown/new), mismatch 60% (Tables 14-17):
# Stable Diffusion 2.0 from a user-supplied folder (CDMX_SD2), 20 steps, guidance 7.5, eta 1.0 /
# 0.2; WRN-28-2, Adam 5e-3, Algorithm 2 steps of B = 32, 400 epochs, lambda1 = 1,
# lambda2 = 20, labelling every 40 epochs (10 rounds, delta 0.98). Not
# run by cdmx (needs GPUs and the datasets): see docs/results.md. The other mismatch
# proportions inherit from this file.
#   python tools/generate.py configs/ucdm/ucdm_wrn28-2_tiny-imagenet-m60.py
#   python tools/train.py configs/ucdm/ucdm_wrn28-2_tiny-imagenet-m60.py
_base_ = [
    '../_base_/models/ucdm_wrn28-2.py',
    '../_base_/datasets/ucdm_tiny-imagenet.py',
    '../_base_/generation/sd2_ucdm.py',
    '../_base_/schedules/adam_ucdm-400e.py',
    '../_base_/default_runtime.py',
]

cache_dir = 'work_dirs/ucdm_cache/tiny-imagenet_m60'
generation = dict(cache_dir=cache_dir)
train_dataloader = dict(dataset=dict(pairs=dict(cache_dir=cache_dir), real=dict(mismatch=0.6)))
model = dict(
    closed_head=dict(num_classes=20),
    open_head=dict(num_classes=20),
    loss=dict(lambda2=20.0))
default_hooks = dict(
    logger=dict(log_metric_by_epoch=True),
    checkpoint=dict(by_epoch=True, interval=40, max_keep_ckpts=2))
log_processor = dict(by_epoch=True)
