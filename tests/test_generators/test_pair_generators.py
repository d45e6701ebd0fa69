"""PositiveGenerator (UCDM Sec. 3.3) and NegativeGenerator (Sec. 3.4) on the tiny pipeline."""
import pytest
import torch

from cdmx.diffusion import DDIMInversion, DDIMSampler, UNetNoisePredictor
from cdmx.generators import (DDIMInverter, NegativeGenerator, PositiveGenerator,
                             check_class_names)
from cdmx.registry import GENERATORS, INVERTERS
from cdmx.utils.errors import CdmxError

STEPS = 4


def seeds(n=3):
    return torch.rand(n, 3, 12, 12, generator=torch.Generator().manual_seed(0))


def gens(*seeds_):
    return [torch.Generator().manual_seed(s) for s in seeds_]


def test_registered():
    assert GENERATORS.get('StableDiffusionBackend') is not None
    assert GENERATORS.get('PositiveGenerator') is PositiveGenerator
    assert GENERATORS.get('NegativeGenerator') is NegativeGenerator
    assert INVERTERS.get('DDIMInverter') is DDIMInverter


@pytest.mark.parametrize('kind', ['PositiveGenerator', 'NegativeGenerator'])
def test_generators_build_from_config_and_return_images(tiny_sd_path, kind):
    gen = GENERATORS.build(dict(type=kind, num_inference_steps=STEPS,
                                backend=dict(type='StableDiffusionBackend',
                                             pretrained=tiny_sd_path, device='cpu',
                                             torch_dtype='float32')))
    out = gen(seeds(), ['Coat', 'Bag', 'Coat'], generator=torch.Generator().manual_seed(0))
    assert out.shape == (3, 3, 12, 12) and out.dtype == torch.float32
    assert out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize('kind', [PositiveGenerator, NegativeGenerator])
def test_batch_equals_one_by_one_given_per_pair_seeds(tiny_backend, kind):
    gen = kind(tiny_backend, num_inference_steps=STEPS)
    images, names = seeds(), ['Coat', 'Bag', 'Coat']
    batched = gen(images, names, generator=gens(0, 1, 2))
    for i in range(3):
        single = gen(images[i:i + 1], names[i:i + 1], generator=gens(i))
        assert torch.allclose(batched[i:i + 1], single, atol=1e-5), i
    again = gen(images, names, generator=gens(0, 1, 2))
    assert torch.equal(batched, again)
    other = gen(images, names, generator=gens(5, 6, 7))
    assert not torch.allclose(batched, other, atol=1e-4)  # eta > 0: the seed matters


def test_positive_follows_eq1_and_eq2(tiny_backend):
    """One-step grid: x_t = Eq. 1 noise of the seed latent, then one guided DDIM step."""
    gen = PositiveGenerator(tiny_backend, num_inference_steps=1, guidance_scale=7.5, eta=0.0)
    latents = tiny_backend.encode(seeds(2))
    out = gen.generate_latents(latents, ['Coat', 'Bag'], generator=gens(3, 4))
    sampler = DDIMSampler(tiny_backend.scheduler_config, 1)
    x_t = sampler.add_noise(latents, gens(3, 4))
    unet, t = tiny_backend.unet, sampler.start_timestep
    cond = tiny_backend.encode_prompts(['A photo of a Coat', 'A photo of a Bag'])
    eps_c = unet(x_t, t, encoder_hidden_states=cond).sample
    eps_u = unet(x_t, t, encoder_hidden_states=tiny_backend.encode_prompts(['', ''])).sample
    a_t = sampler.scheduler.alphas_cumprod[t]
    a_0 = sampler.scheduler.alphas_cumprod[0]  # set_alpha_to_one=False
    eps = eps_u + 7.5 * (eps_c - eps_u)
    x0_hat = (x_t - (1 - a_t).sqrt() * eps) / a_t.sqrt()
    assert torch.allclose(out, a_0.sqrt() * x0_hat + (1 - a_0).sqrt() * eps, atol=1e-5)


def test_positive_depends_on_class_and_guidance(tiny_backend):
    latents = tiny_backend.encode(seeds(2))
    gen = PositiveGenerator(tiny_backend, num_inference_steps=STEPS)
    coat = gen.generate_latents(latents, ['Coat', 'Coat'], gens(0, 1))
    bag = gen.generate_latents(latents, ['Bag', 'Bag'], gens(0, 1))
    assert not torch.allclose(coat, bag, atol=1e-4)
    weak = PositiveGenerator(tiny_backend, num_inference_steps=STEPS, guidance_scale=1.0)
    assert not torch.allclose(coat, weak.generate_latents(latents, ['Coat', 'Coat'], gens(0, 1)),
                              atol=1e-4)


def test_positive_strength_keeps_more_of_the_seed(tiny_backend):
    latents = tiny_backend.encode(seeds(2))
    full = PositiveGenerator(tiny_backend, num_inference_steps=10, eta=0.0)
    light = PositiveGenerator(tiny_backend, num_inference_steps=10, eta=0.0, strength=0.2)
    assert light.sampler.start_timestep < full.sampler.start_timestep
    d_full = (full.generate_latents(latents, ['Coat', 'Bag'], gens(0, 1)) - latents).norm()
    d_light = (light.generate_latents(latents, ['Coat', 'Bag'], gens(0, 1)) - latents).norm()
    assert d_light < d_full


def test_negative_is_inversion_then_unconditional_reverse(tiny_backend):
    latents = tiny_backend.encode(seeds(2))
    gen = NegativeGenerator(tiny_backend, num_inference_steps=STEPS, eta=0.0)
    assert gen.inverter.conditional and gen.inverter.guidance_scale == 1.0
    out = gen.generate_latents(latents, ['Coat', 'Bag'])
    # by hand: conditional inversion with C_y, unconditional reverse on the same grid
    cond = tiny_backend.encode_prompts(['A photo of a Coat', 'A photo of a Bag'])
    uncond = tiny_backend.encode_prompts(['', ''])
    unet = tiny_backend.unet
    x = latents
    for t in gen.inverter.inversion.timesteps:
        x = gen.inverter.inversion.step(unet(x, t, encoder_hidden_states=cond).sample, t, x)
    for t in gen.sampler.timesteps:
        x = gen.sampler.step(unet(x, t, encoder_hidden_states=uncond).sample, t, x)
    assert torch.allclose(out, x, atol=1e-5)
    # the class prompt of the inversion matters
    assert not torch.allclose(out, gen.generate_latents(latents, ['Bag', 'Coat']), atol=1e-4)


def test_unconditional_inverter_gives_the_plain_round_trip(tiny_backend):
    """inverter conditional=False with eta=0: plain inversion + reconstruction (the erasure
    baseline), whatever the class names."""
    latents = tiny_backend.encode(seeds(2))
    round_trip = NegativeGenerator(tiny_backend, num_inference_steps=STEPS, eta=0.0,
                                   inverter=dict(type='DDIMInverter', conditional=False))
    out = round_trip.generate_latents(latents, ['Coat', 'Bag'])
    uncond = {'encoder_hidden_states': tiny_backend.encode_prompts(['', ''])}
    eps_fn = UNetNoisePredictor(tiny_backend.unet, cond=uncond)
    x_t = DDIMInversion(tiny_backend.scheduler_config, STEPS).invert(latents, eps_fn)
    assert torch.allclose(out, round_trip.sampler.sample(x_t, eps_fn), atol=1e-5)
    assert torch.equal(out, round_trip.generate_latents(latents, ['Bag', 'Coat']))


def test_bad_input(tiny_backend):
    with pytest.raises(CdmxError, match='placeholder'):
        PositiveGenerator(tiny_backend, prompt_template='A photo of a thing.')
    with pytest.raises(CdmxError, match='placeholder'):
        NegativeGenerator(tiny_backend, prompt_template='A {} photo of a {}.')
    gen = PositiveGenerator(tiny_backend, num_inference_steps=1)
    with pytest.raises(CdmxError, match='empty'):
        gen(seeds(2), [])
    with pytest.raises(CdmxError, match='2 class names for 3'):
        gen(seeds(3), ['Coat', 'Bag'])
    with pytest.raises(CdmxError, match='channels'):
        gen(torch.rand(2, 1, 12, 12), ['Coat', 'Bag'])
    with pytest.raises(CdmxError, match='grid'):
        NegativeGenerator(tiny_backend, inverter=dict(type='DDIMInverter', strength=0.5))
    with pytest.raises(CdmxError, match='no effect'):
        DDIMInverter(tiny_backend, conditional=False, guidance_scale=2.0)
    with pytest.raises(CdmxError, match='prompt embeddings'):
        DDIMInverter(tiny_backend)(tiny_backend.encode(seeds(1)))


def test_class_list_checks():
    assert check_class_names(('Coat', 'Bag')) == ['Coat', 'Bag']
    with pytest.raises(CdmxError, match='empty'):
        check_class_names([])
    with pytest.raises(CdmxError, match='repeats Coat'):
        check_class_names(['Coat', 'Bag', 'Coat'])
    with pytest.raises(CdmxError, match='non-empty strings'):
        check_class_names(['Coat', ''])
