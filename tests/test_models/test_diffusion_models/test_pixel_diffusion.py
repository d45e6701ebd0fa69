"""PixelDiffusion: GDUI's unconditional pixel UNet with the DDPM objective."""
import copy
import math

import pytest
import torch
from mmengine.optim import OptimWrapper

from cdmx.models import PixelDiffusion
from cdmx.registry import MODELS
from cdmx.utils.errors import CdmxError

TINY_UNET = dict(sample_size=8, in_channels=1, out_channels=1, block_out_channels=(8, 16),
                 layers_per_block=1, down_block_types=('DownBlock2D', 'DownBlock2D'),
                 up_block_types=('UpBlock2D', 'UpBlock2D'), norm_num_groups=4)
SCHEDULER = dict(num_train_timesteps=50, beta_schedule='linear', beta_start=0.002,
                 beta_end=0.4, prediction_type='epsilon')


def tiny_model(**unet) -> PixelDiffusion:
    return MODELS.build(dict(type='PixelDiffusion', unet=dict(TINY_UNET, **unet),
                             noise_scheduler=SCHEDULER))


def batch(num: int = 4, channels: int = 1, size: int = 8) -> dict:
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (num, channels, size, size), generator=g, dtype=torch.uint8)
    return dict(inputs=list(images))


def test_a_few_training_iterations_give_finite_decreasing_loss(single_thread):
    torch.manual_seed(0)
    model = tiny_model()
    wrapper = OptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-2))
    data = batch(16)
    losses = [float(model.train_step(copy.deepcopy(data), wrapper)['loss'].detach())
              for _ in range(12)]
    assert all(math.isfinite(loss) for loss in losses)
    # Untrained, the prediction is unrelated to the N(0, I) target: loss ~ 1 or more.
    assert losses[0] > 0.5
    assert min(losses[-3:]) < losses[0]


def test_preprocessor_maps_pixels_to_minus_one_one():
    model = tiny_model()
    image = torch.zeros(1, 8, 8, dtype=torch.uint8)
    image[0, 0, 0] = 255
    data = model.data_preprocessor(dict(inputs=[image]), False)
    assert data['inputs'].min() == -1 and data['inputs'].max() == 1


def test_loss_is_the_noise_prediction_error(single_thread):
    model = tiny_model()
    x0 = torch.rand(3, 1, 8, 8) * 2 - 1
    torch.manual_seed(5)
    with torch.no_grad():
        loss = model(x0, mode='loss')['loss']
    torch.manual_seed(5)
    t = torch.randint(0, 50, (3, ))
    noise = torch.randn_like(x0)
    abar = model.noise_scheduler.alphas_cumprod[t].view(-1, 1, 1, 1)
    x_t = abar.sqrt() * x0 + (1 - abar).sqrt() * noise
    with torch.no_grad():
        expected = ((model.unet(x_t, t).sample - noise) ** 2).mean()
    assert float(loss) == pytest.approx(float(expected), rel=1e-5)


def test_bad_input_is_refused():
    model = tiny_model()
    with pytest.raises(CdmxError, match=r'\(N, 1, 8, 8\)'):
        model(torch.zeros(2, 3, 8, 8), mode='loss')
    with pytest.raises(CdmxError, match=r'\(N, 1, 8, 8\)'):
        model(torch.zeros(2, 1, 10, 10), mode='loss')
    with pytest.raises(CdmxError, match='sample.py'):
        model(torch.zeros(2, 1, 8, 8), mode='predict')
    with pytest.raises(CdmxError, match='out_channels'):
        tiny_model(out_channels=2)
    with pytest.raises(CdmxError, match='epsilon'):
        MODELS.build(dict(type='PixelDiffusion', unet=TINY_UNET,
                          noise_scheduler=dict(SCHEDULER, prediction_type='v_prediction')))


def test_scheduler_config_round_trips():
    model = tiny_model()
    assert isinstance(model, PixelDiffusion)
    assert model.num_train_timesteps == 50
    assert model.scheduler_config['beta_end'] == pytest.approx(0.4)
