# GDUI's guided synthesis (§3.5, Eq. 19) in the mini world: the UNet of
# unet_fashion-mnist-mini.py guided by the noisy classifier trained on GDUI's matched
# pseudo-labels, num_per_class images of each named class.
#   python tools/gdui/sample.py configs/gdui/sample_fashion-mnist-mini_pseudo-labels.py \
#       --unet-checkpoint work_dirs/unet_fashion-mnist-mini/last_checkpoint \
#       --classifier-checkpoint \
#           work_dirs/noisy-classifier_fashion-mnist-mini_pseudo-labels/last_checkpoint \
#       --out-dir work_dirs/gdui_samples/pseudo-labels
# writes <class>.png (a grid) and <class>.npy (uint8 (N, 28, 28, 1)) per class.
default_scope = 'cdmx'

unet_config = '{{fileDirname}}/unet_fashion-mnist-mini.py'
classifier_config = '{{fileDirname}}/noisy-classifier_fashion-mnist-mini_pseudo-labels.py'
# The classifier's classes in its output order (the train pool's class order).
class_names = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt',
               'Sneaker', 'Bag', 'Ankle boot']

# Ancestral DDPM with Eq. 19's mean shift. GDUI runs all 500 steps; on CPUs the mini world
# samples on a 100-step grid of the same schedule. scale = 2.0 is untuned and used only when
# sampling by hand: the mini chain samples every guided row at the guidance-scale sweep's
# chosen s (tools/gdui/sample.py --scale-from guidance_sweep.json) or at GDUI_SCALE.
generator = dict(type='ClassifierGuidedSampler', method='ddpm', num_inference_steps=100,
                 scale=2.0, progress=True)
num_per_class = 50
batch_size = 100
seed = 0
