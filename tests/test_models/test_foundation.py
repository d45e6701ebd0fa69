"""Tests of the foundation recipes: CLIP tokenizer, mini Stable Diffusion, mini CLIP (tiny sizes)."""
import json
import os

import open_clip
import pytest
import torch
from mmengine.config import Config

from cdmx.models.foundation import load_clip, save_clip_tokenizer, zero_shot_predict
from cdmx.models.foundation.cache import STAMP_FILE
from cdmx.models.foundation.mini_clip import clip_config_dir, preprocess_images
from cdmx.registry import RECIPES
from cdmx.utils.errors import CdmxError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PROMPTS = ['A photo of a T-shirt/top.', 'A photo of a Ankle boot.', 'A photo of a Sneaker.', '',
           'a   photo OF a bag', "it's 2 o'clock, isn't it?", 'naïve café']


def tiny_sd_config(data_root: str) -> Config:
    """configs/foundation/mini_sd.py shrunk to seconds: 100 images, 2 + 2 steps, tiny models."""
    cfg = Config.fromfile(os.path.join(REPO, 'configs/foundation/mini_sd.py'))
    cfg.merge_from_dict({
        'recipe.data.data_root': data_root,
        'recipe.data.external_size': 100,
        'recipe.autoencoder.block_out_channels': (8, 8, 8),
        'recipe.autoencoder.norm_num_groups': 4,
        'recipe.text_encoder': dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                    num_attention_heads=2, projection_dim=16),
        'recipe.unet.block_out_channels': (16, 16, 16),
        'recipe.unet.norm_num_groups': 8,
        'recipe.unet.attention_head_dim': 4,
        'recipe.autoencoder_train': dict(steps=2, batch_size=8, lr=1e-3, kl_weight=1e-6),
        'recipe.denoiser_train': dict(steps=2, batch_size=8, lr=1e-3, weight_decay=0.0,
                                      warmup_steps=1, prompt_dropout=0.5),
    })
    return cfg


def tiny_clip_config(data_root: str, width: int = 32) -> Config:
    """configs/foundation/mini_clip.py shrunk to seconds: 100 images, 2 steps, a tiny ViT."""
    cfg = Config.fromfile(os.path.join(REPO, 'configs/foundation/mini_clip.py'))
    cfg.merge_from_dict({
        'recipe.data.data_root': data_root,
        'recipe.data.external_size': 100,
        'recipe.model_name': f'cdmx-test-clip-{width}',
        'recipe.model': dict(
            embed_dim=16,
            vision_cfg=dict(image_size=32, patch_size=8, width=width, layers=1, head_width=16),
            text_cfg=dict(context_length=77, vocab_size=49408, width=width, heads=2, layers=1)),
        'recipe.train': dict(steps=2, batch_size=8, lr=1e-3, weight_decay=0.0, warmup_steps=1),
    })
    return cfg


@pytest.fixture(scope='module')
def mini_sd(fashion_mnist_root, tmp_path_factory):
    work_dir = str(tmp_path_factory.mktemp('foundation'))
    recipe = RECIPES.build(tiny_sd_config(fashion_mnist_root).recipe)
    return recipe, work_dir, recipe.run(work_dir)


@pytest.fixture(scope='module')
def mini_clip(fashion_mnist_root, tmp_path_factory):
    work_dir = str(tmp_path_factory.mktemp('foundation'))
    recipe = RECIPES.build(tiny_clip_config(fashion_mnist_root).recipe)
    return recipe, recipe.run(work_dir)


def test_tokenizer_gives_open_clip_ids(tmp_path):
    tokenizer = save_clip_tokenizer(str(tmp_path))
    assert len(tokenizer) == 49408
    assert {'vocab.json', 'merges.txt'} <= set(os.listdir(tmp_path))
    ours = tokenizer(PROMPTS, padding='max_length', max_length=77, truncation=True,
                     return_tensors='pt').input_ids
    reference = open_clip.tokenizer.SimpleTokenizer()(PROMPTS, context_length=77)
    assert torch.equal(ours, reference)
    assert ours[0, 0] == 49406 and (ours[3, :3] == torch.tensor([49406, 49407, 0])).all()


def test_tokenizer_rejects_a_file_that_is_not_a_bpe_vocabulary(tmp_path):
    import gzip
    bad = tmp_path / 'vocab.txt.gz'
    with gzip.open(bad, 'wt') as f:
        f.write('#version: 0.2\na b\n')
    with pytest.raises(CdmxError, match='does not hold 48894 merges'):
        save_clip_tokenizer(str(tmp_path / 'tok'), bpe_path=str(bad))


def test_mini_sd_folder_loads_as_stable_diffusion(mini_sd):
    from diffusers import DDIMScheduler, StableDiffusionPipeline
    _, _, folder = mini_sd
    pipe = StableDiffusionPipeline.from_pretrained(folder, local_files_only=True)
    assert isinstance(pipe.scheduler, DDIMScheduler)
    assert pipe.vae_scale_factor == 4 and pipe.unet.config.sample_size == 8
    assert pipe.vae.config.scaling_factor != 0.18215  # fitted to the latents
    assert pipe.tokenizer.pad_token_id == 0 and pipe.text_encoder.config.eos_token_id == 49407
    images = pipe(['A photo of a Sandal.', 'A photo of a Bag.'], num_inference_steps=2,
                  generator=torch.Generator().manual_seed(0), output_type='pt').images
    assert images.shape == (2, 3, 32, 32) and 0 <= images.min() and images.max() <= 1


def test_mini_sd_folder_loads_through_the_backend(mini_sd):
    from cdmx.generators import build_backend
    _, _, folder = mini_sd
    backend = build_backend(dict(type='StableDiffusionBackend', pretrained=folder))
    latents = backend.encode(torch.rand(2, 3, 32, 32))
    assert latents.shape == (2, 4, 8, 8)
    assert backend.decode(latents).shape == (2, 3, 32, 32)


def test_mini_sd_is_reused_and_guards_its_settings(mini_sd, fashion_mnist_root):
    recipe, work_dir, folder = mini_sd
    stamp = os.path.join(folder, STAMP_FILE)
    before = os.stat(stamp).st_mtime_ns
    assert recipe.run(work_dir) == folder
    assert os.stat(stamp).st_mtime_ns == before
    with open(stamp, encoding='utf-8') as f:
        assert json.load(f)['denoiser_train']['steps'] == 2
    cfg = tiny_sd_config(fashion_mnist_root)
    cfg.recipe.denoiser_train.steps = 3
    with pytest.raises(CdmxError, match='other settings'):
        RECIPES.build(cfg.recipe).run(work_dir)


def test_mini_sd_rejects_a_template_without_placeholder(fashion_mnist_root):
    cfg = tiny_sd_config(fashion_mnist_root)
    cfg.recipe.prompt_template = 'A photo of a class.'
    with pytest.raises(CdmxError, match='placeholder'):
        RECIPES.build(cfg.recipe)


def test_mini_clip_loads_through_open_clip(mini_clip, fashion_mnist_root):
    recipe, checkpoint = mini_clip
    open_clip.add_model_config(clip_config_dir(checkpoint))
    model, _, preprocess = open_clip.create_model_and_transforms(recipe.model_name,
                                                                 pretrained=checkpoint)
    saved = torch.load(checkpoint, map_location='cpu', weights_only=True)['state_dict']
    assert all(torch.equal(v, saved[k]) for k, v in model.state_dict().items())
    images = torch.rand(3, 3, 32, 32)
    pred = zero_shot_predict(model.eval(), open_clip.get_tokenizer(recipe.model_name),
                             preprocess_images(images, preprocess), ['a', 'b', 'c', 'd'])
    assert pred.shape == (3, ) and pred.max() < 4


def test_clip_checkpoint_of_another_architecture_is_refused(mini_clip, fashion_mnist_root,
                                                            tmp_path):
    _, checkpoint = mini_clip
    other = tiny_clip_config(fashion_mnist_root, width=48).recipe
    config_dir = tmp_path / 'configs'
    config_dir.mkdir()
    (config_dir / f'{other.model_name}.json').write_text(json.dumps(other.model.to_dict()))
    with pytest.raises(CdmxError) as err:
        load_clip(other.model_name, checkpoint, str(config_dir))
    message = str(err.value)
    assert 'does not match' in message and other.model_name in message
    assert '\n' not in message and message.endswith('.')


def test_clip_loader_names_a_missing_checkpoint(mini_clip):
    recipe, checkpoint = mini_clip
    with pytest.raises(CdmxError, match='does not exist'):
        load_clip(recipe.model_name, checkpoint + '.missing', clip_config_dir(checkpoint))
