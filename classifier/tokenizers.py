"""Share one tokenizer object between models whose tokenizer files are identical.

Several tasks fine-tuned from the same base carry byte-identical tokenizer files; loading
them once saves the vocabulary's memory per extra task. Files are compared by SHA-256.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from transformers import AutoTokenizer, PreTrainedTokenizerBase

TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "sentencepiece.bpe.model",
    "spm.model",
    "added_tokens.json",
)


def tokenizer_fingerprint(path: Path) -> str:
    """SHA-256 over the names and bytes of the tokenizer files in model directory ``path``."""
    digest = hashlib.sha256()
    for name in TOKENIZER_FILES:
        file = path / name
        if file.is_file():
            digest.update(name.encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()


class SharedTokenizers:
    """Tokenizers by fingerprint: the first load of a set of files is reused for the rest."""

    def __init__(self) -> None:
        self._by_hash: dict[str, PreTrainedTokenizerBase] = {}
        self._lock = threading.Lock()
        self.loads = 0
        """How many tokenizers were actually loaded (the rest were shared)."""

    def get(self, path: Path) -> PreTrainedTokenizerBase:
        """The tokenizer of model directory ``path``, shared when its files were seen before."""
        key = tokenizer_fingerprint(path)
        with self._lock:
            tokenizer = self._by_hash.get(key)
            if tokenizer is None:
                tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
                self._by_hash[key] = tokenizer
                self.loads += 1
            return tokenizer
