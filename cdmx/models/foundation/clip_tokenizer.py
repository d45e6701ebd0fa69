"""The CLIP BPE tokenizer in the two formats the stand-ins need, from one vocabulary file.

open_clip ships OpenAI's ``bpe_simple_vocab_16e6.txt.gz``: a version line followed by BPE merges
(``"a b"`` per line, best first). transformers' ``CLIPTokenizer`` wants the same vocabulary as a
``vocab.json`` (token -> id) and a ``merges.txt``. CLIP builds its vocabulary from the file by this
rule (Radford et al., 2021, and the tokenizer of the CLIP repository):

1. keep the first ``49152 - 256 - 2`` merges (48,894);
2. ids ``0..255``: the 256 byte symbols of ``bytes_to_unicode`` in its order;
3. ids ``256..511``: the same symbols followed by the end-of-word marker ``</w>``;
4. ids ``512..49405``: the concatenation of each kept merge, in file order;
5. ids ``49406, 49407``: start and end of text (``<|startoftext|>``, ``<|endoftext|>`` in
   transformers' spelling).

Padding uses ``"!"`` (id 0) as Stable Diffusion 2's tokenizer does, which is also the id open_clip
pads with, so both tokenizers give identical ``(B, 77)`` id tensors. One difference remains, and
SD 2.0's tokenizer has it too: being the pad token, a ``"!"`` inside a text is split off as id 0
instead of being merged by BPE (``"wow!!"`` ends in ``0, 0`` rather than ``"!!</w>"``); the
prompts of cdmx hold no ``"!"``.
"""
import gzip
import json
import os

from transformers import CLIPTokenizer

from cdmx.utils.errors import CdmxError

#: Merges CLIP keeps (written as CLIP writes it); 512 byte symbols + 48,894 merges + 2 specials
#: make its 49,408 ids.
NUM_MERGES = 49152 - 256 - 2
BOS_TOKEN = '<|startoftext|>'
EOS_TOKEN = '<|endoftext|>'
PAD_TOKEN = '!'


def open_clip_bpe_path() -> str:
    """Path of the BPE vocabulary file shipped inside the installed open_clip package."""
    from open_clip.tokenizer import default_bpe
    return default_bpe()


def byte_symbols() -> list:
    """The 256 printable symbols CLIP's byte-level BPE uses for the bytes 0..255, in id order.

    Printable Latin-1 bytes (``!``..``~``, ``¡``..``¬``, ``®``..``ÿ``; 188 of them) stand for
    themselves and come first; the other 68 bytes (controls, space, soft hyphen) are mapped, in
    increasing byte order, to the code points 256, 257, ... This is GPT-2's ``bytes_to_unicode``
    table, written out here because transformers keeps it private to its tokenizer modules.
    """
    printable = (list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1))
                 + list(range(ord('®'), ord('ÿ') + 1)))
    others = [b for b in range(256) if b not in printable]
    return [chr(b) for b in printable] + [chr(256 + i) for i in range(len(others))]


def read_merges(bpe_path: str) -> list:
    """The ``NUM_MERGES`` merges of a CLIP BPE file, as ``'a b'`` strings in rank order."""
    if not os.path.isfile(bpe_path):
        raise CdmxError(f'CLIP BPE file {bpe_path} does not exist; pass the '
                        'bpe_simple_vocab_16e6.txt.gz that open_clip ships.')
    with gzip.open(bpe_path, 'rt', encoding='utf-8') as f:
        lines = f.read().split('\n')
    merges = lines[1:1 + NUM_MERGES]
    if len(merges) != NUM_MERGES or any(len(m.split()) != 2 for m in merges):
        raise CdmxError(f'CLIP BPE file {bpe_path} does not hold {NUM_MERGES} merges of two '
                        'symbols after its version line; pass the bpe_simple_vocab_16e6.txt.gz '
                        'that open_clip ships.')
    return merges


def clip_vocab(merges: list) -> dict:
    """CLIP's token -> id table built from its merges by rules 2-5 of the module docstring."""
    symbols = byte_symbols()
    tokens = symbols + [s + '</w>' for s in symbols] + [m.replace(' ', '') for m in merges]
    tokens += [BOS_TOKEN, EOS_TOKEN]
    return {token: i for i, token in enumerate(tokens)}


def save_clip_tokenizer(save_dir: str, model_max_length: int = 77,
                        bpe_path: str = None) -> CLIPTokenizer:
    """Write ``vocab.json`` and ``merges.txt`` derived from open_clip's BPE file and return the
    transformers ``CLIPTokenizer`` saved (with its config) in ``save_dir``.

    Args:
        save_dir (str): Folder to write, e.g. the ``tokenizer`` folder of a pipeline.
        model_max_length (int): Context length the tokenizer pads and truncates to.
        bpe_path (str, optional): CLIP BPE file; defaults to the one open_clip ships.

    Returns:
        CLIPTokenizer: loaded back from ``save_dir`` (pad token ``"!"``, id 0).
    """
    merges = read_merges(bpe_path or open_clip_bpe_path())
    os.makedirs(save_dir, exist_ok=True)
    with open(os.path.join(save_dir, 'vocab.json'), 'w', encoding='utf-8') as f:
        json.dump(clip_vocab(merges), f, ensure_ascii=False)
    with open(os.path.join(save_dir, 'merges.txt'), 'w', encoding='utf-8') as f:
        # transformers skips the first line of merges.txt, as CLIP skips the file's version line.
        f.write('#version: 0.2\n' + '\n'.join(merges) + '\n')
    tokenizer = CLIPTokenizer.from_pretrained(save_dir, pad_token=PAD_TOKEN,
                                              model_max_length=model_max_length)
    tokenizer.save_pretrained(save_dir)  # adds tokenizer_config.json with the two settings
    return tokenizer
