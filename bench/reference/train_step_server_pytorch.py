#!/usr/bin/env python3
"""REFERENCE ONLY, never a dependency of the product: layered-encoder training steps in PyTorch, on request.

`npm run bench -- train` (bench/ort-train-bench.ts) keeps this process open and asks it for a few steps at a
time, alternating with its own engines, so that both sides see the same machine load (a ratio from one
interleaved run, not from two runs minutes apart). The step is train_step_layered_pytorch.py's: the module the
checkpoints README carries (encoder_module.py in --module-dir), symmetric InfoNCE with in-batch negatives at
temperature 0.07, AdamW (lr 1e-4, weight decay 0.01), global-norm clipping at 1.

usage: train_step_server_pytorch.py --module-dir DIR --threads N
stdin, one JSON object a line: {"variant": NAME, "config": CONFIG.json, "slots": [1,3,1,3,3], "batch": B, "steps": N}
stdout, one JSON line per request: {"times": [ms per step, ...], "threads": N, "torch": VERSION}
"""
import argparse
import json
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--module-dir", required=True)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    sys.path.insert(0, args.module_dir)
    import torch
    import torch.nn.functional as F
    from encoder_module import JsonEncoder

    torch.set_num_threads(args.threads)
    states = {}
    print(json.dumps({"ready": True, "threads": torch.get_num_threads(), "torch": torch.__version__}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        key = (req["variant"], req["batch"])
        if key not in states:
            config = json.load(open(req["config"]))
            torch.manual_seed(0)
            model = JsonEncoder(config)
            model.train()
            opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
            batch = req["batch"]
            g = torch.Generator().manual_seed(batch)
            fields = {
                f: torch.randint(0, config["vocabSizes"][f], (batch, s), generator=g)
                for f, s in zip(config["fields"], req["slots"])
            }
            images = F.normalize(torch.randn(batch, 512, generator=g), dim=-1)
            states[key] = (model, opt, fields, images, torch.arange(batch))
        model, opt, fields, images, labels = states[key]
        times = []
        for _ in range(req["steps"]):
            t0 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            logits = model(fields) @ images.t() / 0.07
            loss = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)) / 2
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            loss.item()
            times.append((time.perf_counter() - t0) * 1000)
        print(json.dumps({"times": times, "threads": torch.get_num_threads(), "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
