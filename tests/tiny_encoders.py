"""Tiny random encoders of other architectures, built locally (no download), to prove that
Heed is not tied to BERT: DistilBERT (with the embedded MiniLM WordPiece tokenizer),
XLM-RoBERTa (with a small Unigram tokenizer trained here) and FNet (an architecture that
returns no attention weights at all).

Each builder saves a bare pretrained-style encoder (``AutoModel``, no classification head)
and its tokenizer into a directory, which ``python -m training train --base DIR`` takes.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import WORDS, make_rows

EXTRA_SENTENCES = (
    "The cable arrived broken, awful!",
    "Unbelievably GOOD, wasn't it?",
    "It is a charger. It charges the phone.",
    "Not bad at all, though the manual could be clearer.",
    "Arrived on time, works exactly as described, and the sound is wonderful.",
    "The battery died after two days and support never answered.",
)


def _save(model_config: object, tokenizer: object, path: Path) -> Path:
    import torch
    from transformers import AutoModel

    torch.manual_seed(0)
    AutoModel.from_config(model_config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def wordpiece_tokenizer() -> object:
    """The embedded all-MiniLM-L6-v2 WordPiece tokenizer (uncased, 30,522 pieces)."""
    from transformers import AutoTokenizer

    from classifier.base_model import embedded_base_model_dir

    return AutoTokenizer.from_pretrained(embedded_base_model_dir())


def unigram_tokenizer(vocab_size: int = 400) -> object:
    """An XLM-R style SentencePiece-like tokenizer (Unigram, Metaspace, ``<s> ... </s>``)
    trained on a few hundred local sentences."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from tokenizers import trainers as tok_trainers
    from transformers import XLMRobertaTokenizer

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    corpus = [text for text, _ in make_rows(100, seed=1)]
    corpus += [" ".join(words) for words in WORDS.values()] + list(EXTRA_SENTENCES)
    corpus += [s.upper() for s in EXTRA_SENTENCES] + [s.lower() for s in EXTRA_SENTENCES]
    backend = Tokenizer(models.Unigram())
    backend.normalizer = normalizers.NFKC()
    backend.pre_tokenizer = pre_tokenizers.Metaspace()
    backend.decoder = decoders.Metaspace()
    backend.train_from_iterator(
        corpus,
        tok_trainers.UnigramTrainer(
            vocab_size=vocab_size, special_tokens=specials, unk_token="<unk>"
        ),
    )
    backend.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", 0), ("</s>", 2)],
    )
    return XLMRobertaTokenizer(
        tokenizer_object=backend,
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        model_max_length=64,
    )


def make_distilbert(path: Path) -> Path:
    """A 2-layer, 32-wide random DistilBERT with the MiniLM WordPiece vocabulary."""
    from transformers import DistilBertConfig

    tokenizer = wordpiece_tokenizer()
    config = DistilBertConfig(
        vocab_size=len(tokenizer),
        dim=32,
        n_layers=2,
        n_heads=2,
        hidden_dim=64,
        max_position_embeddings=64,
    )
    return _save(config, tokenizer, path)


def make_xlm_roberta(path: Path) -> Path:
    """A 2-layer, 32-wide random XLM-RoBERTa with a locally trained Unigram tokenizer."""
    from transformers import XLMRobertaConfig

    tokenizer = unigram_tokenizer()
    config = XLMRobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=66,  # 64 tokens after RoBERTa's padding offset of 2
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    return _save(config, tokenizer, path)


def make_fnet(path: Path) -> Path:
    """A 2-layer random FNet (Fourier mixing, no attention weights) with the WordPiece
    vocabulary: the architecture that can only explain with ``gradient``."""
    from transformers import FNetConfig

    tokenizer = wordpiece_tokenizer()
    config = FNetConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        intermediate_size=64,
        max_position_embeddings=64,
        pad_token_id=tokenizer.pad_token_id,
    )
    return _save(config, tokenizer, path)


BUILDERS = {
    "distilbert": make_distilbert,
    "xlm-roberta": make_xlm_roberta,
    "fnet": make_fnet,
}
