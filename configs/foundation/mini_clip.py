# The mini CLIP: a small open_clip ViT trained contrastively on the external pool only, with the
# captions "A photo of a [CLASS].". `tools/pretrain_foundation.py` writes
# <work_dir>/mini_clip/model_configs/MiniCLIP-ViT-4.json and <work_dir>/mini_clip/MiniCLIP-ViT-4.pt.
default_scope = 'cdmx'

_base_ = ['../_base_/datasets/fashion-mnist_external.py']

recipe = dict(
    type='MiniCLIP',
    name='mini_clip',
    model_name='MiniCLIP-ViT-4',
    # An open_clip model config, as in open_clip/model_configs/*.json: a ViT with 4x4 patches on
    # 32x32 images (64 tokens) and CLIP's text transformer over the same 77-token BPE ids.
    model=dict(
        embed_dim=128,
        vision_cfg=dict(image_size=32, patch_size=4, width=96, layers=3, head_width=32,
                        mlp_ratio=4.0),
        text_cfg=dict(context_length=77, vocab_size=49408, width=128, heads=4, layers=2)),
    data={{_base_.external}},
    image_size=32,  # 28x28 centred on a black 32x32 canvas
    prompt_template='A photo of a {}.',
    # ~15 epochs of the 10,000 pairs (~7.5 CPU minutes on one core).
    train=dict(steps=1200, batch_size=128, lr=2e-3, weight_decay=0.1, warmup_steps=50),
    seed=0)
