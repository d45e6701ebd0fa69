"""ClassifierGuidedSampler: GDUI's guided synthesis (§3.5, Eq. 19) over the diffusion core."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

from cdmx.generators import ClassifierGuidedSampler, load_trained_model
from cdmx.registry import GENERATORS, MODELS
from cdmx.utils.errors import CdmxError
from cdmx.utils.training_meta import TRAINING_META_KEY, training_record

SCHEDULER = dict(num_train_timesteps=40, beta_schedule='linear', beta_start=0.0025,
                 beta_end=0.5, prediction_type='epsilon')
UNET = dict(type='PixelDiffusion', noise_scheduler=SCHEDULER,
            unet=dict(sample_size=8, in_channels=1, out_channels=1, block_out_channels=(8, 16),
                      layers_per_block=1, down_block_types=('DownBlock2D', 'DownBlock2D'),
                      up_block_types=('UpBlock2D', 'UpBlock2D'), norm_num_groups=4))
CLASSIFIER = dict(type='NoisyClassifier', noise_scheduler=SCHEDULER, feat_channels=64,
                  backbone=dict(type='WideResNet', depth=10, widen_factor=1, in_channels=1),
                  cluster_head=dict(type='ClusterHead', num_clusters=3, in_channels=64),
                  cls_head=dict(type='ClosedSetHead', num_classes=3, in_channels=3))


@pytest.fixture(scope='module')
def models():
    torch.manual_seed(0)
    return MODELS.build(UNET).eval(), MODELS.build(CLASSIFIER).eval()


class BrightnessClassifier(torch.nn.Module):
    """An analytic p(y | x_t): class 1 is bright, class 0 dark, p(1 | x) = sigmoid(4 mean x)."""

    num_classes = 2

    def __init__(self, unet):
        super().__init__()
        self.noise_scheduler = unet.noise_scheduler
        self.data_preprocessor = unet.data_preprocessor

    def log_prob(self, x, t, labels):
        logit = 4 * x.flatten(1).mean(dim=1)
        return torch.where(labels == 1, F.logsigmoid(logit), F.logsigmoid(-logit))


def generators(n, seed=0):
    return [torch.Generator().manual_seed(seed + i) for i in range(n)]


def test_samples_are_uint8_images(models):
    unet, classifier = models
    images = ClassifierGuidedSampler(num_inference_steps=4, scale=1.0)(
        unet, classifier, [0, 2], generator=generators(2))
    assert images.dtype == torch.uint8 and images.shape == (2, 8, 8, 1)


@pytest.mark.parametrize('method', ['ddpm', 'ddim'])
def test_scale_zero_is_unconditional_and_guidance_changes_samples(models, method):
    unet, classifier = models
    run = {scale: ClassifierGuidedSampler(method, 5, scale=scale) for scale in (0.0, 50.0)}
    plain = run[0.0](unet, None, [0, 0], generator=generators(2))
    assert torch.equal(run[0.0](unet, classifier, [1, 2], generator=generators(2)), plain)
    guided = run[50.0](unet, classifier, [1, 2], generator=generators(2))
    assert not torch.equal(guided, plain)


def test_each_sample_depends_on_its_generator_only(models):
    unet, classifier = models
    sampler = ClassifierGuidedSampler(num_inference_steps=4, scale=5.0)
    pair = sampler(unet, classifier, [0, 1], generator=generators(2))
    second = sampler(unet, classifier, [1], generator=generators(1, seed=1))
    assert torch.equal(pair[1:], second)


@pytest.mark.parametrize('method', ['ddpm', 'ddim'])
def test_guidance_moves_samples_towards_the_class(method):
    # The UNet is replaced by the exact noise prediction of data x_0 ~ N(0, I), so that the
    # sampler runs a true diffusion model and only the guidance differs between the runs.
    unet = MODELS.build(UNET).eval()
    abar = unet.noise_scheduler.alphas_cumprod
    unet.predict_noise = lambda x, t: (1 - abar[int(t)]).sqrt() * x
    classifier = BrightnessClassifier(unet)
    sampler = {scale: ClassifierGuidedSampler(method, 10, scale=scale) for scale in (0.0, 3.0)}
    brightness = {}
    for name, scale, label in (('none', 0.0, 0), ('dark', 3.0, 0), ('bright', 3.0, 1)):
        images = sampler[scale](unet, classifier, [label] * 16, generator=generators(16))
        brightness[name] = images.float().mean().item()
    assert brightness['dark'] + 5 < brightness['none'] < brightness['bright'] - 5


def test_bad_settings_are_refused(models):
    unet, classifier = models
    with pytest.raises(CdmxError, match='method'):
        ClassifierGuidedSampler('euler')
    with pytest.raises(CdmxError, match='num_inference_steps'):
        ClassifierGuidedSampler('ddim')
    with pytest.raises(CdmxError, match='scale'):
        ClassifierGuidedSampler(scale=-1)
    sampler = ClassifierGuidedSampler(num_inference_steps=2, scale=1.0)
    with pytest.raises(CdmxError, match='0..2'):
        sampler(unet, classifier, [3])
    other = MODELS.build(dict(CLASSIFIER, noise_scheduler=dict(SCHEDULER, beta_end=0.3))).eval()
    with pytest.raises(CdmxError, match='noise schedule'):
        sampler(unet, other, [0])
    other = MODELS.build(dict(CLASSIFIER, data_preprocessor=dict(
        type='ImgDataPreprocessor', mean=[0.0], std=[255.0]))).eval()
    with pytest.raises(CdmxError, match='mean'):
        sampler(unet, other, [0])


@pytest.mark.parametrize('scale', [-1.0, -1e-9, float('nan'), float('inf'), True, '2'])
def test_the_scale_must_be_a_finite_number_at_least_zero(scale):
    with pytest.raises(CdmxError, match='finite number >= 0'):
        ClassifierGuidedSampler(scale=scale)


def test_a_classifier_trained_on_another_image_shape_is_refused(models):
    unet, _ = models
    classifier = MODELS.build(CLASSIFIER).eval()
    sampler = ClassifierGuidedSampler(num_inference_steps=2, scale=1.0)
    classifier.trained_input_shape = (1, 8, 8)  # the UNet's samples: 1 channel, 8x8
    assert sampler(unet, classifier, [0], generator=generators(1)).shape == (1, 8, 8, 1)
    for shape, text in (((1, 16, 16), '1x16x16'), ((3, 8, 8), '3x8x8')):
        classifier.trained_input_shape = shape
        with pytest.raises(CdmxError, match=f'trained on {text} images but the UNet samples '
                           '1x8x8'):
            sampler(unet, classifier, [0])


def test_load_trained_model_checks_the_training_record(tmp_path):
    """The checkpoint's record: the schedule must be the config's, the shape is kept."""
    cfg = Config(dict(model=CLASSIFIER, default_scope='cdmx'))
    trained = MODELS.build(CLASSIFIER)
    other = MODELS.build(dict(CLASSIFIER, noise_scheduler=dict(SCHEDULER, beta_end=0.3)))
    paths = {}
    for name, meta in (('same', {TRAINING_META_KEY: training_record(trained, (1, 8, 8))}),
                       ('other', {TRAINING_META_KEY: training_record(other, (1, 8, 8))}),
                       ('none', dict(iter=1))):
        paths[name] = str(tmp_path / f'{name}.pth')
        torch.save(dict(meta=meta, state_dict=trained.state_dict()), paths[name])
    assert load_trained_model(cfg, paths['same']).trained_input_shape == (1, 8, 8)
    assert load_trained_model(cfg, paths['none']).trained_input_shape is None
    assert load_trained_model(cfg).trained_input_shape is None
    with pytest.raises(CdmxError, match='trained with another noise schedule'):
        load_trained_model(cfg, paths['other'])


def test_builds_from_the_registry():
    sampler = GENERATORS.build(dict(type='ClassifierGuidedSampler', method='ddim',
                                    num_inference_steps=7, scale=2.5))
    assert (sampler.method, sampler.num_inference_steps, sampler.scale) == ('ddim', 7, 2.5)


def test_load_trained_model_reads_a_checkpoint(tmp_path):
    torch.manual_seed(1)
    trained = MODELS.build(UNET)
    path = str(tmp_path / 'iter_1.pth')
    torch.save(dict(meta=dict(iter=1), state_dict=trained.state_dict()), path)
    (tmp_path / 'last_checkpoint').write_text(path)
    cfg = Config(dict(model=UNET, default_scope='cdmx'))
    loaded = load_trained_model(cfg, str(tmp_path / 'last_checkpoint'))
    assert not loaded.training
    for key, value in trained.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    with pytest.raises(CdmxError, match='does not exist'):
        load_trained_model(cfg, str(tmp_path / 'none.pth'))
    with pytest.raises(CdmxError, match='no model'):
        load_trained_model(Config(dict(default_scope='cdmx')))
