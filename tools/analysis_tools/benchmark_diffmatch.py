"""Inference throughput of DiffMatch at 1-5 DDIM steps against the discriminative baseline.

    python tools/analysis_tools/benchmark_diffmatch.py [--config CONFIG] [--size 128]
        [--batch-size 1] [--runs 5] [--warmup 2] [--max-steps 5] [--device cpu]
        [--depth 18] [--base-channels 16] [--channels 64] [--layers 4] [--num-classes 19]

Both models have the same extractor: the baseline is mmseg's ``EncoderDecoder`` built from the
DiffMatch model's backbone, neck and decode head configs (with its classifier); DiffMatch is
that extractor plus the mask denoiser run ``steps`` times (paper Table 5: 3 steps run at 0.79x
of the baseline). Each is timed on whole-image inference (``encode_decode``: images to class scores at
the input size, no post-processing) of one random batch at one input size, after warm-up runs.

The model comes from ``--config`` (a config whose ``model`` is a ``DiffMatch`` or a
``SemiSupervisedSegmentor`` around one, e.g. ``configs/diffmatch/cityscapes_r101.py``), or, by
default, a small DeepLabv3+ (ResNetV1c ``--depth`` / ``--base-channels``, ``--channels``-d
embedding, ``--layers`` denoiser layers) sized to finish in well under 2 minutes on a CPU.

Printed: the baseline's time per image, each step count's time, throughput and ratio to the
baseline (throughput_DiffMatch / throughput_baseline), and the time per deformable-attention
layer of the denoiser (attention + FFN + FiLM, and the attention alone), measured with forward
hooks in a separate pass at the model's own ``steps`` (the hooks synchronise CUDA around every
layer, so they stay out of the throughput runs).
"""
import argparse
import copy
import time
from contextlib import contextmanager

import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope

from cdmx.models.heads.mask_denoiser import DenoiserLayer
from cdmx.registry import MODELS
from cdmx.utils.cli import run_cli
from cdmx.utils.errors import CdmxError


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='DiffMatch vs discriminative throughput.')
    parser.add_argument('--config', help='config file whose model is (or wraps) a DiffMatch')
    parser.add_argument('--size', type=int, default=128, help='square input size')
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument('--runs', type=int, default=5, help='timed runs per model and step count')
    parser.add_argument('--warmup', type=int, default=2, help='untimed runs before each timing')
    parser.add_argument('--max-steps', type=int, default=5, help='DDIM steps 1..max-steps')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--depth', type=int, default=18, help='ResNetV1c depth (no --config)')
    parser.add_argument('--base-channels', type=int, default=16,
                        help='ResNetV1c base channels (no --config)')
    parser.add_argument('--channels', type=int, default=64,
                        help='embedding width D (no --config)')
    parser.add_argument('--layers', type=int, default=4, help='denoiser layers L (no --config)')
    parser.add_argument('--num-classes', type=int, default=19, help='classes (no --config)')
    return parser.parse_args()


def default_model_cfg(args: argparse.Namespace) -> ConfigDict:
    """A DeepLabv3+ DiffMatch scaled by the command-line sizes."""
    base = args.base_channels
    expansion = 1 if args.depth in (18, 34) else 4
    norm = dict(type='BN', requires_grad=True)
    heads = 8 if args.channels % 8 == 0 else 1
    return ConfigDict(
        type='DiffMatch',
        backbone=dict(type='mmseg.ResNetV1c', depth=args.depth, stem_channels=base,
                      base_channels=base, num_stages=4, out_indices=(0, 1, 2, 3),
                      dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1), norm_cfg=norm,
                      contract_dilation=True),
        decode_head=dict(type='mmseg.DepthwiseSeparableASPPHead',
                         in_channels=8 * base * expansion, in_index=3, channels=args.channels,
                         dilations=(1, 12, 24, 36), c1_in_channels=base * expansion,
                         c1_channels=max(args.channels // 5, 1), dropout_ratio=0.1,
                         num_classes=args.num_classes, norm_cfg=norm, align_corners=False,
                         loss_decode=dict(type='mmseg.CrossEntropyLoss')),
        denoiser=dict(type='MaskDenoiser', embed_dims=args.channels, num_layers=args.layers,
                      num_heads=heads, feedforward_channels=4 * args.channels),
        test_cfg=dict(mode='whole'))


def diffmatch_cfg(args: argparse.Namespace) -> ConfigDict:
    """The DiffMatch model config from ``--config`` or the command-line sizes."""
    if args.config is None:
        return default_model_cfg(args)
    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'cdmx'))
    model = copy.deepcopy(cfg.model)
    if model.get('type', '').split('.')[-1] == 'SemiSupervisedSegmentor':
        model = model.segmentor
    if model.get('type', '').split('.')[-1] != 'DiffMatch':
        raise CdmxError(f'{args.config} defines a {model.get("type")} model; give a config whose '
                        'model is a DiffMatch or a SemiSupervisedSegmentor around one.')
    model.pop('data_preprocessor', None)
    return model


def baseline_cfg(model: ConfigDict) -> ConfigDict:
    """mmseg's EncoderDecoder with DiffMatch's backbone, neck and decode head."""
    keys = ('backbone', 'neck', 'decode_head', 'test_cfg')
    return ConfigDict(type='mmseg.EncoderDecoder',
                      **{key: copy.deepcopy(model[key]) for key in keys if model.get(key)})


@contextmanager
def layer_timer(model: torch.nn.Module, device: torch.device):
    """Yield ``{'layer': [s...], 'attention': [s...]}`` filled by forward hooks on every
    denoiser layer and its deformable attention."""
    times = dict(layer=[], attention=[])
    handles, starts = [], {}

    def sync():
        if device.type == 'cuda':
            torch.cuda.synchronize(device)

    for layer in model.modules():
        if isinstance(layer, DenoiserLayer):
            for name, module in (('layer', layer), ('attention', layer.attn)):
                def pre(mod, _inputs, key=name):
                    sync()
                    starts[(key, id(mod))] = time.perf_counter()

                def post(mod, _inputs, _output, key=name):
                    sync()
                    times[key].append(time.perf_counter() - starts.pop((key, id(mod))))

                handles += [module.register_forward_pre_hook(pre),
                            module.register_forward_hook(post)]
    try:
        yield times
    finally:
        for handle in handles:
            handle.remove()


def time_inference(model, inputs: torch.Tensor, runs: int, warmup: int,
                   device: torch.device) -> float:
    """Seconds per image of ``model.encode_decode`` averaged over ``runs`` timed runs."""
    metas = [dict(img_shape=inputs.shape[2:], pad_shape=inputs.shape[2:],
                  ori_shape=inputs.shape[2:])] * inputs.shape[0]
    with torch.no_grad():
        for _ in range(warmup):
            model.encode_decode(inputs, metas)
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        for _ in range(runs):
            model.encode_decode(inputs, metas)
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
    return (time.perf_counter() - start) / (runs * inputs.shape[0])


def main() -> None:
    args = parse_args()
    for name in ('size', 'batch_size', 'runs', 'max_steps'):
        if getattr(args, name) < 1:
            raise CdmxError(f'--{name.replace("_", "-")} is {getattr(args, name)}; give a '
                            'positive integer.')
    if args.warmup < 0:
        raise CdmxError(f'--warmup is {args.warmup}; give 0 or more warm-up runs.')
    device = torch.device(args.device)
    if args.config is None:
        init_default_scope('cdmx')
    cfg = diffmatch_cfg(args)
    diffmatch = MODELS.build(cfg).to(device).eval()
    baseline = MODELS.build(baseline_cfg(cfg)).to(device).eval()
    num_classes = diffmatch.num_classes
    inputs = torch.randn(args.batch_size, 3, args.size, args.size, device=device)
    print(f'input {tuple(inputs.shape)}, {num_classes} classes, device {device}, '
          f'{args.runs} timed runs each after {args.warmup} warm-up runs', flush=True)
    base = time_inference(baseline, inputs, args.runs, args.warmup, device)
    print(f'discriminative baseline: {1000 * base:.2f} ms/img ({1 / base:.2f} img/s)',
          flush=True)
    default_steps = diffmatch.steps
    for steps in range(1, args.max_steps + 1):
        diffmatch.steps = steps
        seconds = time_inference(diffmatch, inputs, args.runs, args.warmup, device)
        print(f'DiffMatch steps {steps}: {1000 * seconds:.2f} ms/img ({1 / seconds:.2f} '
              f'img/s), throughput {base / seconds:.3f}x of the baseline', flush=True)
    # layer times in a separate pass: the hooks synchronise CUDA around every layer
    diffmatch.steps = default_steps
    with layer_timer(diffmatch, device) as times:
        time_inference(diffmatch, inputs, args.runs, 0, device)
    layers = len(diffmatch.denoiser.layers)
    per_layer = sum(times['layer']) / len(times['layer'])
    per_attention = sum(times['attention']) / len(times['attention'])
    print(f'deformable-attention layer: {1000 * per_layer:.3f} ms per call '
          f'(attention alone {1000 * per_attention:.3f} ms), {layers} layers per DDIM step, '
          f'batch {args.batch_size}, {len(times["layer"])} calls timed')


if __name__ == '__main__':
    run_cli(main)
