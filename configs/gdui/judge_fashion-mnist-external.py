# The independent judge of GDUI's class accuracy in the mini world (issue 18, item 3): the
# foundation evaluation's JudgeConvNet (tools/analysis_tools/eval_foundation.py: 88.6% on the
# 10,000 test images), trained with the same recipe on the true labels of the external pool
# (10,000 Fashion-MNIST training images that neither the diffusion model, the noisy
# classifiers, the clustering nor the reference images use). So it never guided a sample and
# never saw a reference image.
#   python tools/gdui/train_judge.py configs/gdui/judge_fashion-mnist-external.py
# writes work_dirs/judge_fashion-mnist-external/judge.pth (not yet timed; the foundation
# evaluation trains this recipe in about a minute on 2 cores).
_base_ = ['../_base_/datasets/fashion-mnist_external.py']
default_scope = 'cdmx'

# cdmx.models.foundation.JudgeConvNet: four conv-BN-ReLU layers, ~34k parameters at width 16.
model = dict(type='JudgeConvNet', num_classes=10, width=16)
train_data = {{_base_.external}}
image_size = 32  # 28x28 centred on a black 32x32 canvas, as the foundation evaluation does
# eval_foundation.py's settings: 15 epochs, batch 128, AdamW at 3e-3 with cosine decay.
epochs = 15
batch_size = 128
lr = 3e-3
seed = 0
