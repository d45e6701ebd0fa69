"""Evaluate a DiffMatch checkpoint with its auxiliary head as the classifier (a diagnostic).

DiffMatch predicts with its mask denoiser; the auxiliary head (DDP's FCN head on the pixel
embedding ``z``) is a training aid that inference never uses. Scoring that head with the
config's own test loop and metrics separates the extractor from the denoiser: where the
auxiliary head scores higher than the denoiser, the denoiser's readout, not the feature, is
what limits DiffMatch.

    python tools/analysis_tools/eval_auxiliary_head.py CONFIG CHECKPOINT [--work-dir DIR]
                                                       [--cfg-options KEY=VALUE ...]

CHECKPOINT is a ``.pth`` file or the ``last_checkpoint`` file of a training work dir; CONFIG is
a DiffMatch config or a semi-supervised one around DiffMatch (then the ``predict_on`` model is
scored). Metrics and pictures go where ``tools/test.py`` puts them.
"""
import argparse
import types

import torch
from mmengine.config import DictAction
from mmengine.runner import Runner
from mmseg.models.utils import resize

from cdmx.models import DiffMatch
from cdmx.utils.cli import (default_work_dir, load_config, place_out_files, resolve_checkpoint,
                            run_cli)
from cdmx.utils.errors import CdmxError


def auxiliary_encode_decode(self: DiffMatch, inputs: torch.Tensor,
                            batch_img_metas: list) -> torch.Tensor:
    """``(N, 3, H, W)`` -> ``(N, C, H, W)`` logits of the auxiliary head on ``z``, upsampled
    bilinearly (what mmseg's ``EncoderDecoder.encode_decode`` does with a decode head)."""
    logits = self.auxiliary_head.forward([self.extract_pixel_embedding(inputs)])
    return resize(logits, size=inputs.shape[2:], mode='bilinear',
                  align_corners=self.align_corners)


def use_auxiliary_heads(model: torch.nn.Module) -> int:
    """Make every DiffMatch in ``model`` predict with its auxiliary head; return how many."""
    found = 0
    for module in model.modules():
        if isinstance(module, DiffMatch):
            if not module.with_auxiliary_head:
                raise CdmxError('the DiffMatch of this config has no auxiliary_head; evaluate '
                                'it with tools/test.py instead.')
            module.encode_decode = types.MethodType(auxiliary_encode_decode, module)
            found += 1
    if not found:
        raise CdmxError(f'the model is a {type(model).__name__} without a DiffMatch; give a '
                        'DiffMatch config.')
    return found


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Evaluate a DiffMatch checkpoint with its auxiliary head as the classifier.')
    parser.add_argument('config', help='DiffMatch config file path')
    parser.add_argument('checkpoint', help='checkpoint file, or the last_checkpoint file of a '
                        'work dir')
    parser.add_argument('--work-dir', help='the dir to save logs and metrics '
                        '(default: work_dirs/<config name>_auxiliary-head)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. test_dataloader.batch_size=8')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    cfg.work_dir = args.work_dir or default_work_dir(args.config) + '_auxiliary-head'
    place_out_files(cfg)
    cfg.load_from = resolve_checkpoint(args.checkpoint)
    runner = Runner.from_cfg(cfg)
    use_auxiliary_heads(runner.model)
    runner.test()


if __name__ == '__main__':
    run_cli(main)
