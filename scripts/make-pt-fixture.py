#!/usr/bin/env python3
"""Writes test/fixtures/tiny-encoder.pt: a tiny JSON-encoder state_dict saved with torch.save (zip format),
for the .pt import test. Run once with a python3 that has torch (`/usr/bin/python3 scripts/make-pt-fixture.py`);
the output is checked in, so the test needs no torch.

Values are deterministic and easy to check from JavaScript: tensor k holds (k + 1) * 1000 + arange(n), as
float32, except the nested-checkpoint layout ({"model_state_dict": ..., "epoch": 3}) that earlier training
scripts wrote. One tensor is a transposed view (non-contiguous strides) and one is float64, so the reader's
stride walk and dtype conversion are exercised.
"""
import collections
import os

import torch

NAMES_SHAPES = [
    ("field_embeddings.category.weight", (4, 3)),
    ("field_embeddings.style.weight", (5, 3)),
    ("mlp.0.weight", (8, 6)),
    ("mlp.0.bias", (8,)),
    ("mlp.3.weight", (512, 8)),
    ("mlp.3.bias", (512,)),
]

state = collections.OrderedDict()
for k, (name, shape) in enumerate(NAMES_SHAPES):
    n = 1
    for s in shape:
        n *= s
    t = ((k + 1) * 1000 + torch.arange(n, dtype=torch.float32)).reshape(shape)
    if name == "mlp.0.weight":
        # Stored transposed: the reader must follow the strides.
        t = t.t().contiguous().t()
    if name == "mlp.0.bias":
        t = t.double()
    state[name] = t

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "tiny-encoder.pt")
torch.save({"model_state_dict": state, "epoch": 3}, out)
print(out)
