#!/usr/bin/env python3
"""REFERENCE ONLY, never a dependency of the product: the earlier pipeline's training run in PyTorch.

`npm run bench -- quality` exports a workspace's train/val split (encoder inputs + image embeddings) and
runs this on it, to check the quality bar: `kfashion train` with default settings must reach
validation retrieval at least as good as this model trained in PyTorch with the earlier pipeline's
settings (lr 1e-4, 10 epochs, batch 64, temperature 0.07; AdamW, constant learning rate, no early
stopping, no clipping).

The model and loss are those of train_step_pytorch.py (imported, not repeated). Validation is the
`gallery` protocol of EVALUATION.md with the product's tie rule (a gallery item scoring the same as the
correct image counts against the query), so the figures compare one to one with the product's.

usage: train_quality_pytorch.py DIR [--epochs 10] [--batch 64] [--lr 1e-4] [--temperature 0.07] [--seed 0]
DIR holds split.json ({"fields", "vocabSizes", "train": {field: [[index, ...], ...]}, "val": ...}),
train_images.npy and val_images.npy ([n, 512] float32). Prints one JSON line per epoch and a final line
{"final": ..., "best": ...}.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_step_pytorch import JsonEncoder, info_nce  # noqa: E402


def field_tensors(split, fields):
    out = []
    for f in fields:
        rows = split[f]
        slots = max(1, max(len(r) for r in rows))
        t = torch.zeros((len(rows), slots), dtype=torch.long)
        for i, r in enumerate(rows):
            if r:
                t[i, : len(r)] = torch.tensor(r, dtype=torch.long)
        out.append(t)
    return out


@torch.no_grad()
def validate(model, fields, images):
    model.eval()
    z = model(fields)
    s = z @ images.t()  # [query json, gallery image]
    correct = s.diag().unsqueeze(1)
    # Pessimistic ties, as the product: rank = 1 + other gallery items scoring >= the correct one.
    ranks = (s >= correct).sum(1).float()
    n = s.shape[0]
    off = ~torch.eye(n, dtype=torch.bool)
    model.train()
    return {
        "top1": (ranks <= 1).float().mean().item(),
        "top5": (ranks <= 5).float().mean().item(),
        "recall10": (ranks <= 10).float().mean().item(),
        "mrr": (1.0 / ranks).mean().item(),
        "posSim": correct.mean().item(),
        "negSim": s[off].mean().item(),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--temperature", type=float, default=0.07)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    with open(os.path.join(args.dir, "split.json"), encoding="utf8") as fh:
        meta = json.load(fh)
    fields = meta["fields"]
    train_fields = field_tensors(meta["train"], fields)
    val_fields = field_tensors(meta["val"], fields)
    train_images = torch.from_numpy(np.load(os.path.join(args.dir, "train_images.npy")))
    val_images = torch.from_numpy(np.load(os.path.join(args.dir, "val_images.npy")))
    torch.manual_seed(args.seed)
    model = JsonEncoder([meta["vocabSizes"][f] for f in fields])
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    n = train_images.shape[0]
    best = None
    t0 = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        perm = torch.randperm(n)
        losses = []
        for start in range(0, n - 1, args.batch):
            rows = perm[start : start + args.batch]
            if len(rows) < 2:
                continue
            opt.zero_grad(set_to_none=True)
            loss = info_nce(model([t[rows] for t in train_fields]), train_images[rows], args.temperature)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        m = validate(model, val_fields, val_images)
        m.update({"epoch": epoch, "trainLoss": sum(losses) / len(losses)})
        print(json.dumps(m), flush=True)
        if best is None or m["top1"] > best["top1"]:
            best = m
    print(json.dumps({"final": m, "best": best, "seconds": time.perf_counter() - t0, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
