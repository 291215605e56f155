#!/usr/bin/env python3
"""REFERENCE ONLY, never a dependency of the product: the JSON encoder's training step in PyTorch.

`npm run bench -- train` runs this (when `import torch` works) to report the tfjs step side by side with
the earlier pipeline's stack, PyTorch on CPU (PERFORMANCE.md). Same model and step as
src-main/encoders/json-encoder/json-encoder.ts: per-field nn.Embedding(V, 128, padding_idx=0), masked mean
over each field's slots, concat, Linear(fields*128 -> 1024), ReLU (or GELU), Dropout(0.1),
Linear(1024 -> 512), L2 normalisation; symmetric InfoNCE with in-batch negatives; AdamW; global-norm
clipping. The parameter names are the ones the tfjs encoder writes to safetensors, so this module can
load its checkpoints (`field_embeddings.<field>.weight`, `mlp.0.weight`, `mlp.0.bias`, `mlp.3.weight`,
`mlp.3.bias`).

Run with OMP_NUM_THREADS=2 and Debian's libopenblas0-openmp (without OpenBLAS, Debian's torch falls back
to a reference BLAS 10-20x slower; without the variable OpenBLAS stays on one thread).

usage: train_step_pytorch.py --vocab 23,25,9,30,42 --slots 1,3,1,3,3 --batch 64 256 --steps 30
prints one JSON line per batch size: {"batch", "msPerStep", "samplesPerSecond", "threads", "torch"}.
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn


class JsonEncoder(nn.Module):
    def __init__(self, vocab_sizes, embed_dim=128, hidden_dim=1024, out_dim=512, dropout=0.1, activation="relu"):
        super().__init__()
        self.field_embeddings = nn.ModuleDict(
            {f"f{i}": nn.Embedding(v, embed_dim, padding_idx=0) for i, v in enumerate(vocab_sizes)}
        )
        self.mlp = nn.Sequential(
            nn.Linear(len(vocab_sizes) * embed_dim, hidden_dim),
            nn.GELU() if activation == "gelu" else nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden_dim, out_dim),
        )

    def forward(self, fields):
        parts = []
        for i, idx in enumerate(fields):  # idx: [B, slots], 0 = padding
            emb = self.field_embeddings[f"f{i}"](idx)  # [B, slots, d]
            mask = (idx != 0).unsqueeze(-1).float()
            parts.append((emb * mask).sum(1) / mask.sum(1).clamp(min=1))
        return F.normalize(self.mlp(torch.cat(parts, dim=-1)), dim=-1)


def info_nce(z, images, temperature):
    logits = z @ images.t() / temperature
    labels = torch.arange(z.shape[0])
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)) / 2


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vocab", default="23,25,9,30,42")
    ap.add_argument("--slots", default="1,3,1,3,3")
    ap.add_argument("--batch", type=int, nargs="+", default=[64, 256])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--activation", default="relu")
    args = ap.parse_args()
    vocab = [int(v) for v in args.vocab.split(",")]
    slots = [int(s) for s in args.slots.split(",")]
    torch.manual_seed(0)
    model = JsonEncoder(vocab, activation=args.activation)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
    for batch in args.batch:
        g = torch.Generator().manual_seed(batch)
        fields = [torch.randint(0, v, (batch, s), generator=g) for v, s in zip(vocab, slots)]
        images = F.normalize(torch.randn(batch, 512, generator=g), dim=-1)
        times = []
        for i in range(args.warmup + args.steps):
            t0 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            loss = info_nce(model(fields), images, 0.07)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            loss.item()
            if i >= args.warmup:
                times.append((time.perf_counter() - t0) * 1000)
        ms = statistics.median(times)
        print(
            json.dumps(
                {
                    "batch": batch,
                    "msPerStep": round(ms, 3),
                    "samplesPerSecond": round(batch / ms * 1000),
                    "threads": torch.get_num_threads(),
                    "torch": torch.__version__,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
