"""Table 5's random pipelines (positives and negatives from pure noise) and the steered
negative, checked step by step against the tiny pipeline's UNet."""
import pytest
import torch

from cdmx.generators import NegativeGenerator, RandomNegativeGenerator, RandomPositiveGenerator
from cdmx.utils.errors import CdmxError

STEPS = 3


def gens(*seeds):
    return [torch.Generator().manual_seed(s) for s in seeds]


def latents_of(tiny_backend, seed):
    images = torch.rand(2, 3, 12, 12, generator=torch.Generator().manual_seed(seed))
    return tiny_backend.encode(images)


def reverse_by_hand(gen, x, eps, generators):
    for t in gen.sampler.timesteps:
        x = gen.sampler.step(eps(x, t), t, x, generator=generators)
    return x


def test_random_positive_is_a_class_sample_from_pure_noise(tiny_backend):
    gen = RandomPositiveGenerator(tiny_backend, num_inference_steps=STEPS)
    assert (gen.guidance_scale, gen.sampler.eta, gen.sampler.num_steps) == (7.5, 1.0, STEPS)
    names = ['Coat', 'Bag']
    out = gen.generate_latents(latents_of(tiny_backend, 0), names, gens(1, 2))
    # The seed latents give only the shape: other seeds, same result.
    assert torch.equal(out, gen.generate_latents(latents_of(tiny_backend, 9), names, gens(1, 2)))
    assert not torch.allclose(out, gen.generate_latents(latents_of(tiny_backend, 0),
                                                        ['Bag', 'Coat'], gens(1, 2)))
    cond = tiny_backend.encode_prompts(['A photo of a Coat', 'A photo of a Bag'])
    uncond = tiny_backend.encode_prompts(['', ''])

    def eps(x, t):
        e_u = tiny_backend.unet(x, t, encoder_hidden_states=uncond).sample
        e_c = tiny_backend.unet(x, t, encoder_hidden_states=cond).sample
        return e_u + 7.5 * (e_c - e_u)

    generators = gens(1, 2)
    x_t = torch.stack([torch.randn(out.shape[1:], generator=g) for g in generators])
    assert torch.allclose(out, reverse_by_hand(gen, x_t, eps, generators), atol=1e-4, rtol=1e-4)


def test_random_negative_is_an_unconditional_sample_from_pure_noise(tiny_backend):
    gen = RandomNegativeGenerator(tiny_backend, num_inference_steps=STEPS)
    assert gen.sampler.eta == 0.2
    out = gen.generate_latents(latents_of(tiny_backend, 0), ['Coat', 'Bag'], gens(3, 4))
    # Neither the seed nor the class enters.
    assert torch.equal(out, gen.generate_latents(latents_of(tiny_backend, 5), ['Bag', 'Bag'],
                                                 gens(3, 4)))
    uncond = tiny_backend.encode_prompts(['', ''])
    generators = gens(3, 4)
    x_t = torch.stack([torch.randn(out.shape[1:], generator=g) for g in generators])
    by_hand = reverse_by_hand(
        gen, x_t, lambda x, t: tiny_backend.unet(x, t, encoder_hidden_states=uncond).sample,
        generators)
    assert torch.allclose(out, by_hand, atol=1e-5)


def test_steered_negative_pushes_the_class_out_in_the_reverse_process(tiny_backend):
    latents = latents_of(tiny_backend, 0)
    plain = NegativeGenerator(tiny_backend, num_inference_steps=STEPS, eta=0.0)
    steered = NegativeGenerator(tiny_backend, num_inference_steps=STEPS, eta=0.0, steer=3.0)
    out = steered.generate_latents(latents, ['Coat', 'Bag'])
    assert not torch.allclose(out, plain.generate_latents(latents, ['Coat', 'Bag']), atol=1e-4)
    cond = tiny_backend.encode_prompts(['A photo of a Coat', 'A photo of a Bag'])
    uncond = tiny_backend.encode_prompts(['', ''])
    unet = tiny_backend.unet
    x = latents
    for t in steered.inverter.inversion.timesteps:  # Eq. 6, as the paper's negative
        x = steered.inverter.inversion.step(unet(x, t, encoder_hidden_states=cond).sample, t, x)

    def eps(x, t):
        e_u = unet(x, t, encoder_hidden_states=uncond).sample
        return e_u - 3.0 * (unet(x, t, encoder_hidden_states=cond).sample - e_u)

    assert torch.allclose(out, reverse_by_hand(steered, x, eps, None), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize('steer', [-1.0, True, 'strong'])
def test_bad_steer_is_refused(tiny_backend, steer):
    with pytest.raises(CdmxError, match='steer'):
        NegativeGenerator(tiny_backend, num_inference_steps=STEPS, steer=steer)
