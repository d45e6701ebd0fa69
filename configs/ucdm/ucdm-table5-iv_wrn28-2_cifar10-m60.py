# Table 5, variant IV at paper scale (CIFAR-10, mismatch 60%): positives are text-to-image
# samples of the class prompt from x_T ~ N(0, I), negatives unconditional samples from
# x_T ~ N(0, I) (§4.3, B.8-B.9), with the pipelines' sampler settings; everything else is
# ucdm_wrn28-2_cifar10-m60.py (row I). Paper: known 84.8, balance 71.5. Its cache also serves
# rows II and III.
#   python tools/generate.py configs/ucdm/ucdm-table5-iv_wrn28-2_cifar10-m60.py
#   python tools/train.py configs/ucdm/ucdm-table5-iv_wrn28-2_cifar10-m60.py
_base_ = ['./ucdm_wrn28-2_cifar10-m60.py']

cache_dir = 'work_dirs/ucdm_cache/cifar-10_m60_random'
# The random pipelines take the same keys as UCDM's, so merging replaces every value.
generation = dict(positive={{_base_.random_positive}}, negative={{_base_.random_negative}},
                  cache_dir=cache_dir)
train_dataloader = dict(dataset=dict(pairs=dict(cache_dir=cache_dir)))
