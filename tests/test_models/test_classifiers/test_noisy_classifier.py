"""NoisyClassifier: GDUI's timestep-conditioned classifier of noisy images (§3.5)."""
import copy
import glob
import math
import os

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from mmpretrain.structures import DataSample
from torch.nn.modules.batchnorm import _BatchNorm

from cdmx.registry import MODELS
from cdmx.utils.errors import CdmxError

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
GDUI = os.path.join(REPO_ROOT, 'configs', 'gdui')
SCHEDULER = dict(num_train_timesteps=50, beta_schedule='linear', beta_start=0.002,
                 beta_end=0.4, prediction_type='epsilon')
TWO_FC = dict(type='mmpretrain.StackedLinearClsHead', num_classes=3, in_channels=4,
              mid_channels=[8], loss=dict(type='mmpretrain.CrossEntropyLoss'))
TINY_RESNET = dict(type='mmpretrain.ResNet_CIFAR', depth=18, stem_channels=4, base_channels=4,
                   norm_cfg=dict(type='BN'))  # 32-d features, 8 BasicBlocks


def tiny_classifier(**overrides):
    cfg = dict(type='NoisyClassifier',
               backbone=dict(type='WideResNet', depth=10, widen_factor=1, in_channels=1),
               feat_channels=64,
               timestep_channels=8,
               cluster_head=dict(type='ClusterHead', num_clusters=4, in_channels=64,
                                 num_heads=1, hidden_channels=16),
               cls_head=TWO_FC,
               noise_scheduler=SCHEDULER)
    cfg.update(overrides)
    return MODELS.build(cfg)


def randomise_projections(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.time_conditioning.projections.parameters():
            param.copy_(torch.randn(param.shape, generator=g) * 0.5)


def labelled_batch(num: int = 6) -> dict:
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(num) % 3
    # Class k images are bright in proportion to k, so a few steps learn them.
    images = (labels.view(-1, 1, 1, 1) * 100 + torch.randint(0, 40, (num, 1, 8, 8), generator=g))
    samples = [DataSample().set_gt_label(int(k)) for k in labels]
    return dict(inputs=list(images.to(torch.uint8)), data_samples=samples)


def test_forward_backward_and_training_steps(single_thread):
    torch.manual_seed(0)
    model = tiny_classifier()
    wrapper = OptimWrapper(torch.optim.Adam(model.parameters(), lr=3e-3))
    data = labelled_batch(12)
    losses = [float(model.train_step(copy.deepcopy(data), wrapper)['loss'].detach())
              for _ in range(8)]
    assert all(math.isfinite(v) for v in losses)
    assert losses[0] == pytest.approx(math.log(3), abs=0.6)
    model.zero_grad()
    model(**model.data_preprocessor(copy.deepcopy(data), True), mode='loss')['loss'].backward()
    for part in (model.backbone, model.time_conditioning, model.cluster_head, model.cls_head):
        grads = [p.grad for p in part.parameters()]
        assert all(g is not None and torch.isfinite(g).all() for g in grads)
        assert sum(float(g.abs().sum()) for g in grads) > 0


def test_every_residual_block_adds_its_projection_of_the_timestep_embedding(single_thread):
    model = tiny_classifier().eval()
    randomise_projections(model)
    blocks = [m for m in model.backbone.modules() if type(m).__name__ == 'PreActBasicBlock']
    assert len(blocks) == 3 == len(model.time_conditioning.projections)
    seen = []  # (conv input, conditioned conv output), registered after the conditioning hook
    for block in blocks:
        block.conv1.register_forward_hook(lambda m, args, out: seen.append((args[0], out)))
    x, t = torch.randn(2, 1, 8, 8), torch.tensor([3, 41])
    with torch.no_grad():
        model.logits(x, t)
        # ADM's ResBlock: h = conv1(a) + Linear_b(SiLU(MLP(sinusoid(t)))), by hand from diffusers'
        # embedding layers.
        conditioning = model.time_conditioning
        emb = F.silu(conditioning.time_embedding(conditioning.time_proj(t)))
        for (a, out), block, proj in zip(seen, blocks, conditioning.projections):
            conv = block.conv1
            expected = F.conv2d(a, conv.weight, None, conv.stride, conv.padding)
            expected = expected + (emb @ proj.weight.T + proj.bias)[:, :, None, None]
            assert torch.allclose(out, expected, atol=1e-5)


def test_zero_projections_leave_the_backbone_unconditioned_and_trained_ones_condition_it(
        single_thread):
    model = tiny_classifier().eval()
    x = torch.randn(2, 1, 8, 8)
    with torch.no_grad():
        assert torch.allclose(model.logits(x, 0), model.logits(x, 40))  # initialisation
        randomise_projections(model)
        early, late = model.logits(x, 0), model.logits(x, 40)
        per_sample = model.logits(x, torch.tensor([0, 40]))
    assert early.shape == (2, 3)
    assert not torch.allclose(early, late)
    assert torch.allclose(per_sample[0], early[0]) and torch.allclose(per_sample[1], late[1])


def test_a_deep_copy_conditions_with_its_own_projections(single_thread):
    model = tiny_classifier().eval()
    twin = copy.deepcopy(model)  # EMA hooks copy models this way
    randomise_projections(twin)
    x = torch.randn(2, 1, 8, 8)
    with torch.no_grad():
        assert torch.allclose(model.logits(x, 5), model.logits(x, 30))
        assert not torch.allclose(twin.logits(x, 5), twin.logits(x, 30))


def test_log_prob_is_the_log_softmax_of_the_labels(single_thread):
    model = tiny_classifier().eval()
    randomise_projections(model)
    x = torch.randn(3, 1, 8, 8, requires_grad=True)
    labels = torch.tensor([2, 0, 1])
    log_prob = model.log_prob(x, 10, labels)
    expected = model.logits(x, 10).log_softmax(1)[torch.arange(3), labels]
    assert log_prob.shape == (3, ) and torch.allclose(log_prob, expected)
    grad = torch.autograd.grad(log_prob.sum(), x)[0]
    assert grad.shape == x.shape and grad.abs().sum() > 0


def test_predict_sets_scores_at_the_test_timestep(single_thread):
    model = tiny_classifier(test_timestep=5).eval()
    randomise_projections(model)
    x = torch.randn(2, 1, 8, 8)
    with torch.no_grad():
        samples = model(x, mode='predict')
        logits = model(x, mode='tensor')
    assert torch.allclose(logits, model.logits(x, 5))
    for sample, row in zip(samples, logits.softmax(1)):
        assert torch.allclose(sample.pred_score, row)
        assert int(sample.pred_label) == int(row.argmax())


def test_the_classification_head_is_two_fully_connected_layers():
    head = tiny_classifier().cls_head
    linears = [m for m in head.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(4, 8), (8, 3)]


def clustering_checkpoint(path, best_head: int) -> dict:
    """A tiny ClusterModel (3 linear heads) saved as the Runner saves it; head ``best_head``
    has the lowest EM loss."""
    torch.manual_seed(1)
    cluster = MODELS.build(dict(type='ClusterModel', stage='joint', backbone=TINY_RESNET,
                                head=dict(type='ClusterHead', num_clusters=4, in_channels=32,
                                          num_heads=3)))
    with torch.no_grad():
        for param in cluster.parameters():
            param.add_(torch.randn_like(param) * 0.1)
        for norm in cluster.modules():
            if isinstance(norm, _BatchNorm):
                norm.running_mean.uniform_(-0.2, 0.2)
                norm.running_var.uniform_(0.5, 1.5)
        cluster.head_losses.copy_(torch.tensor([0.9, 0.8, 0.9]))
        cluster.head_losses[best_head] = 0.1
        cluster.loss_steps.fill_(5)
    torch.save(dict(meta=dict(iter=2), state_dict=cluster.state_dict()), path)
    return cluster.eval()


def classifier_from_clustering(checkpoint: str, **overrides):
    cfg = dict(backbone=TINY_RESNET, feat_channels=32,
               cluster_head=dict(type='ClusterHead', num_clusters=4, in_channels=32,
                                 num_heads=1),
               feature_input=dict(mean=[70.0, 70.0, 70.0], std=[90.0, 90.0, 90.0]),
               clustering_checkpoint=checkpoint)
    cfg.update(overrides)
    return tiny_classifier(**cfg)


def test_feature_model_and_chosen_head_come_from_the_clustering_stage(single_thread, tmp_path):
    path = str(tmp_path / 'iter_2.pth')
    cluster = clustering_checkpoint(path, best_head=1)
    (tmp_path / 'last_checkpoint').write_text(path)
    model = classifier_from_clustering(str(tmp_path / 'last_checkpoint'))
    model.init_weights()
    model.eval()
    assert len(model.time_conditioning.projections) == 8  # every BasicBlock of ResNet-18
    for name, value in cluster.backbone.state_dict().items():
        assert torch.equal(model.backbone.state_dict()[name], value)
    assert torch.equal(model.cluster_head.heads[0].weight, cluster.head.heads[1].weight)
    # At any t (projections still zero) C(F(.)) is the clustering model's chosen head on the
    # grey x_t turned back into pixels and normalised as in clustering, over three channels.
    pixels = torch.randint(0, 256, (2, 1, 12, 12)).float()
    x_t = (pixels - 127.5) / 127.5
    normalised = ((pixels - 70.0) / 90.0).expand(-1, 3, -1, -1)
    with torch.no_grad():
        _, cluster_logits = cluster(normalised, mode='tensor')
        expected = model.cls_head((cluster_logits[1], ))
        assert torch.allclose(model.logits(x_t, 30), expected, atol=1e-5)


def test_clustering_checkpoints_that_do_not_fit_are_refused(single_thread, tmp_path):
    path = str(tmp_path / 'cluster.pth')
    clustering_checkpoint(path, best_head=0)
    wider = dict(TINY_RESNET, base_channels=8)
    with pytest.raises(CdmxError, match='does not fit the classifier'):
        classifier_from_clustering(path, backbone=wider, feat_channels=64, cluster_head=dict(
            type='ClusterHead', num_clusters=4, in_channels=64, num_heads=1)).init_weights()
    other = str(tmp_path / 'classifier.pth')
    torch.save(dict(state_dict=tiny_classifier().state_dict()), other)
    with pytest.raises(CdmxError, match='not a ClusterModel checkpoint'):
        classifier_from_clustering(other).init_weights()
    with pytest.raises(CdmxError, match='does not exist'):
        classifier_from_clustering(str(tmp_path / 'missing.pth')).init_weights()


def test_checkpoints_of_the_earlier_layout_are_refused_with_a_sentence(single_thread, tmp_path):
    model = tiny_classifier()
    old = {k: v for k, v in model.state_dict().items() if not k.startswith('time_conditioning')}
    old.update({'time_embedding.linear_1.weight': torch.zeros(64, 64),
                'time_embedding.linear_1.bias': torch.zeros(64)})
    path = str(tmp_path / 'old.pth')
    torch.save(dict(state_dict=old), path)
    with pytest.raises(CdmxError, match='earlier layout.*retrain it'):
        load_checkpoint(tiny_classifier(), path, map_location='cpu', strict=True)
    # The current layout round-trips.
    path = str(tmp_path / 'new.pth')
    randomise_projections(model)
    torch.save(dict(state_dict=model.state_dict()), path)
    fresh = tiny_classifier()
    load_checkpoint(fresh, path, map_location='cpu', strict=True)
    x = torch.randn(1, 1, 8, 8)
    with torch.no_grad():
        assert torch.allclose(fresh.eval().logits(x, 7), model.eval().logits(x, 7))


def test_bad_input_is_refused(single_thread):
    with pytest.raises(CdmxError, match='feat_channels'):
        tiny_classifier(feat_channels=32,
                        cluster_head=dict(type='ClusterHead', num_clusters=4, in_channels=32))(
                            torch.zeros(1, 1, 8, 8))
    with pytest.raises(CdmxError, match='num_heads=1'):
        tiny_classifier(cluster_head=dict(type='ClusterHead', num_clusters=4, in_channels=64,
                                          num_heads=2))(torch.zeros(1, 1, 8, 8))
    with pytest.raises(CdmxError, match='test_timestep'):
        tiny_classifier(test_timestep=50)
    with pytest.raises(CdmxError, match='epsilon'):
        tiny_classifier(noise_scheduler=dict(SCHEDULER, prediction_type='sample'))
    with pytest.raises(CdmxError, match='timestep_channels'):
        tiny_classifier(timestep_channels=7)
    with pytest.raises(CdmxError, match='no residual block'):
        tiny_classifier(conditioned_blocks=('Bottleneck', ))
    with pytest.raises(CdmxError, match='feature_input'):
        tiny_classifier(feature_input=dict(mean=[1.0, 2.0], std=[1.0]))
    with pytest.raises(CdmxError, match='channels'):
        tiny_classifier(feature_input=dict(mean=[1.0, 2.0], std=[1.0, 1.0]))(
            torch.zeros(1, 3, 8, 8))
    model = tiny_classifier()
    with pytest.raises(CdmxError, match='without its timestep'):
        model.backbone(torch.zeros(1, 1, 8, 8))
    data = labelled_batch(3)
    data['data_samples'][0].set_gt_label(5)
    batch = model.data_preprocessor(data, True)
    with pytest.raises(CdmxError, match='3 classes'):
        model(**batch, mode='loss')
    with pytest.raises(CdmxError, match='gt_label'):
        model(batch['inputs'], None, mode='loss')
    with pytest.raises(CdmxError, match='forward mode'):
        model(batch['inputs'], mode='sample')


MINI_CONFIGS = sorted(glob.glob(os.path.join(GDUI, 'noisy-classifier_fashion-mnist-mini*.py')))


@pytest.mark.parametrize('config', MINI_CONFIGS, ids=os.path.basename)
def test_mini_schedules_leave_a_negligible_share_of_the_initial_bn_statistics(config):
    """A running statistic keeps (1 - momentum)^iterations of its initial value."""
    cfg = Config.fromfile(config)
    init_default_scope('cdmx')
    norms = [m for m in MODELS.build(cfg.model).modules() if isinstance(m, _BatchNorm)]
    assert norms
    for norm in norms:
        assert norm.momentum is not None  # a cumulative average would keep the early weights'
        assert (1 - norm.momentum) ** cfg.train_cfg.max_iters < 1e-3


def test_the_clustering_init_configs_use_the_clustering_stages_model():
    """F, C and the input normalisation of the paper-construction configs are the clustering
    stage's (§3.5)."""
    pairs = [('noisy-classifier_fashion-mnist-mini_pseudo-labels_clustering-init.py',
              'spice-joint_resnet18-w16_fashion-mnist-pool.py'),
             ('noisy-classifier_stl10_pseudo-labels.py', 'spice-joint_resnet34_stl10.py')]
    for classifier, clustering in pairs:
        ours, theirs = (Config.fromfile(os.path.join(GDUI, name))
                        for name in (classifier, clustering))
        model, cluster = ours.model, theirs.model
        for key in ('type', 'depth', 'stem_channels', 'base_channels'):
            assert model.backbone.get(key) == cluster.backbone.get(key), (classifier, key)
        assert model.cluster_head.in_channels == cluster.head.in_channels == model.feat_channels
        assert model.cluster_head.get('hidden_channels') == cluster.head.get('hidden_channels')
        assert model.cluster_head.num_clusters == cluster.head.num_clusters
        assert model.feature_input.mean == list(cluster.data_preprocessor.mean)
        assert model.feature_input.std == list(cluster.data_preprocessor.std)
        checkpoint = model.clustering_checkpoint
        assert checkpoint == os.path.join('work_dirs', os.path.splitext(clustering)[0],
                                          'last_checkpoint')
