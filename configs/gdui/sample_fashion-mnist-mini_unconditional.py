# The unconditional baseline of Tables 1-2 in the mini world: the same UNet and sampler with no
# classifier (guidance scale 0), num_samples images.
#   python tools/gdui/sample.py configs/gdui/sample_fashion-mnist-mini_unconditional.py \
#       --unet-checkpoint work_dirs/unet_fashion-mnist-mini/last_checkpoint \
#       --out-dir work_dirs/gdui_samples/unconditional
# writes unconditional.png and unconditional.npy (uint8 (N, 28, 28, 1)).
_base_ = ['./sample_fashion-mnist-mini_pseudo-labels.py']

classifier_config = None
generator = dict(scale=0.0)
num_samples = 500
