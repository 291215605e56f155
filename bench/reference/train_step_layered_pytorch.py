#!/usr/bin/env python3
"""REFERENCE ONLY, never a dependency of the product: a training step of the layered JSON encoder in PyTorch.

`npm run bench -- train` runs this beside the layered model (src-main/encoders/json-encoder/model.ts) with the
very module the checkpoints README carries (pytorch-module.ts writes it to --module-dir as encoder_module.py),
so both sides run the same layer list from the same config: symmetric InfoNCE with in-batch negatives,
AdamW (weight decay 0.01), global-norm clipping at 1.

usage: train_step_layered_pytorch.py --module-dir DIR --config CONFIG.json --slots 1,3,1,3,3 --batch 64 256 --steps 30
prints one JSON line per batch size: {"batch", "msPerStep", "samplesPerSecond", "threads", "torch", "variant"}.
"""
import argparse
import json
import statistics
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--module-dir", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--variant", default="default")
    ap.add_argument("--slots", default="1,3,1,3,3")
    ap.add_argument("--batch", type=int, nargs="+", default=[64, 256])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    args = ap.parse_args()
    sys.path.insert(0, args.module_dir)
    import torch
    import torch.nn.functional as F
    from encoder_module import JsonEncoder

    config = json.load(open(args.config))
    slots = [int(s) for s in args.slots.split(",")]
    torch.manual_seed(0)
    model = JsonEncoder(config)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
    for batch in args.batch:
        g = torch.Generator().manual_seed(batch)
        fields = {
            f: torch.randint(0, config["vocabSizes"][f], (batch, s), generator=g)
            for f, s in zip(config["fields"], slots)
        }
        images = F.normalize(torch.randn(batch, 512, generator=g), dim=-1)
        labels = torch.arange(batch)
        times = []
        for i in range(args.warmup + args.steps):
            t0 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            logits = model(fields) @ images.t() / 0.07
            loss = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)) / 2
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
                    "variant": args.variant,
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
