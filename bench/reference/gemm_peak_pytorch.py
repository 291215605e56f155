#!/usr/bin/env python3
"""REFERENCE ONLY, never a dependency of the product: the float32 matrix-product rate PyTorch reaches
on this machine (its native BLAS, OMP_NUM_THREADS threads), for the GEMM floor `npm run bench -- train`
prints beside each step time.

usage: gemm_peak_pytorch.py --shapes 256x640x1024,256x1024x512 --repeats 20
prints one JSON line per shape: {"m", "k", "n", "gflops", "threads", "torch"} (median of the repeats).
"""
import argparse
import json
import statistics
import time

import torch

p = argparse.ArgumentParser()
p.add_argument("--shapes", required=True)
p.add_argument("--repeats", type=int, default=20)
args = p.parse_args()
torch.manual_seed(0)
for shape in args.shapes.split(","):
    m, k, n = (int(x) for x in shape.split("x"))
    a = torch.randn(m, k)
    b = torch.randn(k, n)
    out = torch.empty(m, n)
    for _ in range(3):
        torch.mm(a, b, out=out)
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        torch.mm(a, b, out=out)
        times.append(time.perf_counter() - t0)
    t = statistics.median(times)
    print(json.dumps({"m": m, "k": k, "n": n, "gflops": round(2 * m * k * n / t / 1e9, 1),
                      "threads": torch.get_num_threads(), "torch": torch.__version__}))
