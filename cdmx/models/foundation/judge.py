"""The judge of a generator's faithfulness: a small CNN trained on the real labels of the pool the
generator was trained on, then asked which class each generated image shows."""
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from cdmx.registry import MODELS


def _conv(cin: int, cout: int) -> list:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]


@MODELS.register_module()
class JudgeConvNet(nn.Sequential):
    """Four 3x3 conv-BN-ReLU layers, three 2x2 max-pools, global average pooling and a linear
    layer: ``(B, 3, 32, 32)`` in ``[0, 1]`` -> logits ``(B, num_classes)``.

    Channels ``w -> pool -> 2w -> 2w -> pool -> 4w -> pool``; with ``w = 16`` about 34k
    parameters and 5 MMAC per image, cheap enough to train on 2 CPU cores in a minute.

    Args:
        num_classes (int): Number of classes.
        width (int): Channels ``w`` of the first layer.
    """

    def __init__(self, num_classes: int, width: int = 16):
        w = width
        super().__init__(*_conv(3, w), nn.MaxPool2d(2),
                         *_conv(w, 2 * w), *_conv(2 * w, 2 * w), nn.MaxPool2d(2),
                         *_conv(2 * w, 4 * w), nn.MaxPool2d(2),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2),
                         nn.Linear(4 * w, num_classes))


def train_judge(images: torch.Tensor, labels: torch.Tensor, num_classes: int, epochs: int,
                batch_size: int, lr: float, generator: torch.Generator,
                width: int = 16) -> JudgeConvNet:
    """Fit a :class:`JudgeConvNet` of ``width`` to ``images`` ``(N, 3, H, W)`` in [0, 1] and
    ``labels`` ``(N,)`` with cross-entropy, AdamW, cosine learning-rate decay and random
    horizontal flips (Fashion-MNIST's classes are left-right symmetric). Returns the model in
    eval mode."""
    model = JudgeConvNet(num_classes, width)
    steps = epochs * ((len(images) + batch_size - 1) // batch_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=5e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    model.train()
    with tqdm(total=epochs * len(images), desc='judge', unit='img', unit_scale=True,
              mininterval=2.0) as bar:
        for _ in range(epochs):
            order = torch.randperm(len(images), generator=generator)
            for start in range(0, len(images), batch_size):
                idx = order[start:start + batch_size]
                x = images[idx]
                flip = torch.rand(len(idx), generator=generator) < 0.5
                x = torch.where(flip[:, None, None, None], x.flip(-1), x)
                loss = F.cross_entropy(model(x), labels[idx])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
                bar.update(len(idx))
                bar.set_postfix(loss=f'{loss.item():.3f}', refresh=False)
    return model.eval()


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """Predicted class ``(N,)`` of ``images`` ``(N, 3, H, W)`` in [0, 1]."""
    return torch.cat([model(images[i:i + batch_size]).argmax(1)
                      for i in range(0, len(images), batch_size)])
