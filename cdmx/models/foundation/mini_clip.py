"""The mini CLIP: a small open_clip model trained contrastively on (image, caption) pairs.

The architecture is an ordinary open_clip model config (``embed_dim``, ``vision_cfg``,
``text_cfg``) written to ``<folder>/model_configs/<model_name>.json`` and registered with
``open_clip.add_model_config``; the weights are an open_clip checkpoint
(``{'state_dict': ...}``), so the model loads with the call a user makes for ViT-B-32::

    open_clip.add_model_config('<folder>/model_configs')
    model, _, preprocess = open_clip.create_model_and_transforms(
        '<model_name>', pretrained='<folder>/<model_name>.pt')

:func:`load_clip` does exactly this and turns open_clip's errors into one ``CdmxError`` sentence.
"""
import json
import math
import os
import pickle
from typing import Tuple

import open_clip
import torch
from diffusers.optimization import get_cosine_schedule_with_warmup
from mmengine.logging import print_log
from open_clip.loss import ClipLoss
from PIL import Image
from tqdm import tqdm

from cdmx.generators.prompts import check_prompt_template, format_prompts
from cdmx.utils.errors import CdmxError
from cdmx.registry import RECIPES
from .cache import is_complete, publish
from .data import load_image_tensors

CONFIG_DIR = 'model_configs'


def checkpoint_path(folder: str, model_name: str) -> str:
    """``<folder>/<model_name>.pt``, where :class:`MiniCLIP` saves its weights."""
    return os.path.join(folder, f'{model_name}.pt')


def load_clip(model_name: str, checkpoint: str, config_dir: str = None):
    """Build an open_clip model and load a checkpoint through ``create_model_and_transforms``.

    Args:
        model_name (str): An open_clip architecture name (built-in or registered).
        checkpoint (str): An open_clip checkpoint file of that architecture.
        config_dir (str, optional): Folder of ``<name>.json`` model configs to register first.

    Returns:
        tuple: ``(model, preprocess, tokenizer)``: the model in eval mode, the evaluation
        transform (PIL image -> ``(3, S, S)`` normalised tensor) and the text tokenizer
        (list of str -> ``(B, context_length)`` ids).
    """
    if config_dir is not None:
        open_clip.add_model_config(config_dir)
    if model_name not in open_clip.list_models():
        raise CdmxError(f"open_clip knows no architecture '{model_name}'; register its "
                        '<name>.json with open_clip.add_model_config or pass config_dir.')
    if not os.path.isfile(checkpoint):
        raise CdmxError(f'CLIP checkpoint {checkpoint} does not exist; run '
                        'tools/pretrain_foundation.py configs/foundation/mini_clip.py or pass '
                        'the path of an open_clip checkpoint.')
    try:
        model, _, preprocess = open_clip.create_model_and_transforms(model_name,
                                                                     pretrained=checkpoint)
    # open_clip reports a mismatch as load_state_dict's RuntimeError, or with an assert while it
    # resizes position embeddings; a file that is no checkpoint fails inside torch.load.
    except (RuntimeError, AssertionError, KeyError, ValueError, EOFError,
            pickle.UnpicklingError) as err:
        detail = [line.strip() for line in str(err).splitlines() if line.strip()]
        reason = (detail[1] if len(detail) > 1 else detail[0] if detail
                  else type(err).__name__).rstrip('.')
        raise CdmxError(f"CLIP checkpoint {checkpoint} does not match the open_clip "
                        f"architecture '{model_name}' ({reason}); pass the checkpoint trained "
                        'for this architecture or the architecture name it was trained '
                        'with.') from err
    return model.eval(), preprocess, open_clip.get_tokenizer(model_name)


def preprocess_images(images: torch.Tensor, preprocess) -> torch.Tensor:
    """Apply an open_clip evaluation transform to ``(N, 3, H, W)`` images in [0, 1].

    Each image goes through PIL as a user's photo would; returns ``(N, 3, S, S)``.
    """
    arrays = (images * 255).round().byte().permute(0, 2, 3, 1).numpy()
    return torch.stack([preprocess(Image.fromarray(a)) for a in arrays])


@torch.no_grad()
def zero_shot_predict(model, tokenizer, images: torch.Tensor, prompts: list,
                      batch_size: int = 500) -> torch.Tensor:
    """CLIP zero-shot classification (Radford et al., 2021): the class whose prompt embedding
    has the highest cosine similarity with the image embedding.

    Args:
        images (Tensor): ``(N, 3, S, S)`` preprocessed images.
        prompts (list[str]): One prompt per class.

    Returns:
        Tensor: ``(N,)`` predicted class ids.
    """
    text = model.encode_text(tokenizer(prompts), normalize=True)
    return torch.cat([(model.encode_image(images[i:i + batch_size], normalize=True) @ text.T)
                      .argmax(1) for i in range(0, len(images), batch_size)])


def train_clip(model, images: torch.Tensor, labels: torch.Tensor, prompt_ids: torch.Tensor,
               steps: int, batch_size: int, lr: float, weight_decay: float, warmup_steps: int,
               generator: torch.Generator) -> None:
    """Contrastive pretraining (CLIP's symmetric InfoNCE, open_clip's ``ClipLoss``), in place.

    For a batch of ``B`` pairs with unit embeddings ``u_i`` (image) and ``v_i`` (its caption)
    and the learned temperature ``s = exp(logit_scale)``::

        L = (CE(s U V^T, I) + CE(s V U^T, I)) / 2

    A batch holds each class caption many times; identical captions have identical embeddings,
    so their logit rows tie, and loss and gradients equal those of the identical captions
    counted as one set of positives (UniCL's targets, Yang et al., 2022).

    ``prompt_ids`` ``(K, L)`` holds one tokenised caption per class; they are encoded once per
    step and indexed by label (the same gradients as encoding each sample's caption). Images
    ``(N, 3, S, S)`` are preprocessed; random horizontal flips. AdamW, linear warm-up then cosine
    decay (open_clip's schedule); the temperature ``s`` is clipped at 100 as in CLIP.
    """
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    schedule = get_cosine_schedule_with_warmup(optimizer, warmup_steps, steps)
    loss_fn = ClipLoss()
    model.train()
    with tqdm(total=steps * batch_size, desc='mini CLIP', unit='img', unit_scale=True,
              dynamic_ncols=True, mininterval=2.0) as bar:
        for _ in range(steps):
            idx = torch.randint(len(images), (batch_size, ), generator=generator)
            x = images[idx]
            flip = torch.rand(batch_size, generator=generator) < 0.5
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
            image_features = model.encode_image(x, normalize=True)
            text_features = model.encode_text(prompt_ids, normalize=True)[labels[idx]]
            loss = loss_fn(image_features, text_features, model.logit_scale.exp())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            with torch.no_grad():
                model.logit_scale.clamp_(0, math.log(100))
            bar.update(batch_size)
            bar.set_postfix(loss=f'{loss.item():.3f}', refresh=False)
    model.eval()


@RECIPES.register_module()
class MiniCLIP:
    """Pretrain a small open_clip model on (image, ``prompt_template`` of its class) pairs.

    Writes ``<work_dir>/<name>/model_configs/<model_name>.json`` (the architecture) and
    ``<work_dir>/<name>/<model_name>.pt`` (an open_clip checkpoint).

    Args:
        name (str): Folder name under the work dir.
        model_name (str): open_clip architecture name given to ``model``.
        model (dict): open_clip model config (``embed_dim``, ``vision_cfg``, ``text_cfg``).
        data (dict): ``DATASETS`` config of the training images (e.g. the external pool).
        image_size (int): Images are centred on a black square of this side.
        prompt_template (str): Caption of an image, ``'{}'`` standing for its class name.
        train (dict): ``steps``, ``batch_size``, ``lr``, ``weight_decay``, ``warmup_steps``.
        seed (int): Seeds model initialisation and every random draw.
    """

    def __init__(self, name: str, model_name: str, model: dict, data: dict, image_size: int,
                 prompt_template: str, train: dict, seed: int = 0):
        check_prompt_template(prompt_template)
        self.name = name
        self.model_name = model_name
        self.settings = dict(name=name, model_name=model_name, model=model, data=data,
                             image_size=image_size, prompt_template=prompt_template,
                             train=train, seed=seed)

    def output_path(self, work_dir: str) -> str:
        """The checkpoint this recipe makes: ``<work_dir>/<name>/<model_name>.pt``."""
        return checkpoint_path(os.path.join(work_dir, self.name), self.model_name)

    def run(self, work_dir: str) -> str:
        """Train and save the model, or reuse it when a run with the same settings completed."""
        folder = os.path.join(work_dir, self.name)
        if is_complete(folder, self.settings):
            print_log(f'mini CLIP: reusing {folder}', logger='current')
        else:
            publish(folder, self.settings, self._train_into)
        return self.output_path(work_dir)

    def _train_into(self, folder: str) -> None:
        s = self.settings
        config_dir = os.path.join(folder, CONFIG_DIR)
        os.makedirs(config_dir)
        with open(os.path.join(config_dir, f'{self.model_name}.json'), 'w',
                  encoding='utf-8') as f:
            json.dump(s['model'], f, indent=2)
        open_clip.add_model_config(config_dir)
        torch.manual_seed(s['seed'])
        model, _, preprocess = open_clip.create_model_and_transforms(self.model_name)
        tokenizer = open_clip.get_tokenizer(self.model_name)
        images, labels, classes = load_image_tensors(s['data'], s['image_size'])
        prompt_ids = tokenizer(format_prompts(s['prompt_template'], classes))
        train_clip(model, preprocess_images(images, preprocess), labels, prompt_ids,
                   generator=torch.Generator().manual_seed(s['seed']), **s['train'])
        torch.save({'name': self.model_name, 'state_dict': model.state_dict()},
                   checkpoint_path(folder, self.model_name))


def clip_config_dir(checkpoint: str) -> str:
    """The ``model_configs`` folder :class:`MiniCLIP` writes beside its checkpoint."""
    return os.path.join(os.path.dirname(checkpoint), CONFIG_DIR)


def load_mini_clip(checkpoint: str, model_name: str) -> Tuple:
    """:func:`load_clip` for a checkpoint written by :class:`MiniCLIP` (registers its config)."""
    return load_clip(model_name, checkpoint, clip_config_dir(checkpoint))
