"""StableDiffusionBackend on a real-format (tiny, random) pipeline folder."""
import json
import os
import shutil

import pytest
import torch

from cdmx.registry import GENERATORS
from cdmx.utils.errors import CdmxError


def test_loads_a_save_pretrained_folder(tiny_backend):
    assert tiny_backend.resolution == 16  # unet sample_size 8 x VAE factor 2
    assert tiny_backend.latent_shape == (4, 8, 8)
    assert tiny_backend.scheduler_config['steps_offset'] == 1
    assert not any(p.requires_grad for p in tiny_backend.unet.parameters())


def test_encode_resizes_to_the_model_and_decode_back(tiny_backend):
    images = torch.rand(3, 3, 12, 20, generator=torch.Generator().manual_seed(0))
    latents = tiny_backend.encode(images)
    assert latents.shape == (3, 4, 8, 8)
    assert torch.equal(latents, tiny_backend.encode(images))  # posterior mean: deterministic
    # The resize policy: encoding equals resizing to 16 x 16 first.
    resized = torch.nn.functional.interpolate(images, size=(16, 16), mode='bicubic',
                                              antialias=True).clamp(0, 1)
    assert torch.allclose(tiny_backend.encode(resized), latents, atol=1e-6)
    decoded = tiny_backend.decode(latents, size=(12, 20))
    assert decoded.shape == (3, 3, 12, 20)
    assert decoded.min() >= 0 and decoded.max() <= 1
    assert tiny_backend.decode(latents).shape == (3, 3, 16, 16)
    # Scaling: decode divides by the factor encode multiplies with.
    vae = tiny_backend.vae
    raw = vae.decode(latents / vae.config.scaling_factor).sample
    assert torch.allclose(tiny_backend.decode(latents), ((raw + 1) / 2).clamp(0, 1), atol=1e-6)


def test_pad_policy_centres_on_a_black_canvas_and_crops_back(tiny_sd_path, tiny_backend):
    padded = GENERATORS.build(dict(type='StableDiffusionBackend', pretrained=tiny_sd_path,
                                   resize_policy='pad'))
    images = torch.rand(2, 3, 12, 10, generator=torch.Generator().manual_seed(0))
    canvas = torch.zeros(2, 3, 16, 16)
    canvas[..., 2:14, 3:13] = images
    latents = padded.encode(images)
    assert torch.allclose(latents, tiny_backend.encode(canvas), atol=1e-6)
    assert torch.equal(padded.decode(latents, size=(12, 10)),
                       tiny_backend.decode(latents)[..., 2:14, 3:13])
    with pytest.raises(CdmxError, match='cannot fit'):
        padded.encode(torch.rand(1, 3, 20, 20))


def test_prompt_embeddings_are_computed_once(tiny_backend):
    calls = []
    hook = tiny_backend.pipe.text_encoder.register_forward_hook(
        lambda module, args, out: calls.append(args[0].shape[0]))
    try:
        first = tiny_backend.encode_prompts(['A photo of a coat.', 'A photo of a bag.',
                                             'A photo of a coat.'])
        again = tiny_backend.encode_prompts(['A photo of a bag.', 'A photo of a coat.'])
    finally:
        hook.remove()
    assert calls == [2]  # two distinct prompts, one text-encoder call
    assert first.shape == (3, 32, 32)
    assert torch.equal(first[0], first[2]) and torch.equal(again[0], first[1])
    assert not torch.allclose(first[0], first[1])
    with pytest.raises(CdmxError, match='empty'):
        tiny_backend.encode_prompts([])
    with pytest.raises(CdmxError, match='list of strings'):
        tiny_backend.encode_prompts('A photo of a bag.')


@pytest.mark.parametrize('images,match', [
    (torch.rand(2, 1, 12, 12), '1 channels'),
    (torch.rand(2, 4, 12, 12), '4 channels'),
    (torch.rand(3, 12, 12), 'shape'),
    (torch.randint(0, 255, (2, 3, 12, 12)), 'dtype'),
    (torch.rand(2, 3, 12, 12) * 255, r'\[0, 1\]'),
])
def test_bad_images(tiny_backend, images, match):
    with pytest.raises(CdmxError, match=match):
        tiny_backend.encode(images)


def test_bad_latents(tiny_backend):
    with pytest.raises(CdmxError, match='latents'):
        tiny_backend.decode(torch.zeros(1, 4, 16, 16))


def test_bad_folders(tmp_path, tiny_sd_path):
    def build(path, **kwargs):
        return GENERATORS.build(dict(type='StableDiffusionBackend', pretrained=str(path),
                                     **kwargs))

    with pytest.raises(CdmxError, match='does not exist'):
        build(tmp_path / 'missing')
    (tmp_path / 'empty').mkdir()
    with pytest.raises(CdmxError, match='model_index.json'):
        build(tmp_path / 'empty')
    no_unet = shutil.copytree(tiny_sd_path, tmp_path / 'no_unet')
    with open(no_unet / 'model_index.json') as f:
        index = json.load(f)
    del index['unet']
    with open(no_unet / 'model_index.json', 'w') as f:
        json.dump(index, f)
    with pytest.raises(CdmxError, match='lists no unet'):
        build(no_unet)
    broken = shutil.copytree(tiny_sd_path, tmp_path / 'broken')
    shutil.rmtree(os.path.join(broken, 'unet'))
    with pytest.raises(CdmxError, match='cannot be loaded'):
        build(broken)
    with pytest.raises(CdmxError, match='torch_dtype'):
        build(tiny_sd_path, torch_dtype='float64')
    with pytest.raises(CdmxError, match='resize_policy'):
        build(tiny_sd_path, resize_policy='crop')
