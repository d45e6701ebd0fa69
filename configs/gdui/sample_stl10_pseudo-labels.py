# GDUI's guided synthesis (§3.5, Eq. 19) in the paper setting: all 500 ancestral steps of the
# STL-10 UNet, guided by the noisy classifier trained on the matched pseudo-labels.
#   python tools/gdui/sample.py configs/gdui/sample_stl10_pseudo-labels.py \
#       --unet-checkpoint work_dirs/unet_stl10/last_checkpoint \
#       --classifier-checkpoint work_dirs/noisy-classifier_stl10_pseudo-labels/last_checkpoint \
#       --out-dir work_dirs/gdui_samples/stl10
default_scope = 'cdmx'

unet_config = '{{fileDirname}}/unet_stl10.py'
classifier_config = '{{fileDirname}}/noisy-classifier_stl10_pseudo-labels.py'
class_names = ['airplane', 'bird', 'car', 'cat', 'deer', 'dog', 'horse', 'monkey', 'ship',
               'truck']
generator = dict(type='ClassifierGuidedSampler', method='ddpm', num_inference_steps=None,
                 scale=1.0, progress=True)
num_per_class = 1000
batch_size = 250
seed = 0
