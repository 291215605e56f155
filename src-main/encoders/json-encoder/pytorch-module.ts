/**
 * The PyTorch twin of model.ts: Python source of an nn.Module that builds the same layer list from the
 * same config (the checkpoint JSON's `encoder` section) and loads our safetensors files with
 * `load_state_dict(..., strict=True)`. The checkpoint README carries it, and the parity test and the
 * benchmark's PyTorch reference run it, so the names, the Sequential numbering and the maths cannot
 * drift apart unnoticed. It also reads safetensors without the `safetensors` package (the format is an
 * 8-byte header length, a JSON header and raw little-endian data), since Debian's torch lacks it.
 */
import type { JsonEncoderConfig } from './json-encoder-types.ts';

export const PYTORCH_MODULE_SOURCE = `import json
import struct

import torch
import torch.nn.functional as F
from torch import nn


def load_safetensors(path):
    """{name: tensor} from a safetensors file (F32 tensors, as K-Fashion Workbench writes them)."""
    with open(path, "rb") as fh:
        data = fh.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        if t["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} is {t['dtype']}, expected F32")
        a, b = t["data_offsets"]
        buf = bytearray(data[8 + n + a : 8 + n + b])
        out[name] = torch.frombuffer(buf, dtype=torch.float32).reshape(t["shape"]).clone()
    return out


def _activation(name):
    return {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU}[name]()


def _norm(name, width):
    if name == "layer":
        return nn.LayerNorm(width)
    if name == "batch":
        return nn.BatchNorm1d(width)
    return None


class ResidualBlock(nn.Module):
    """x + Dropout(act(norm(Linear(x))))."""

    def __init__(self, width, norm, activation, dropout):
        super().__init__()
        self.linear = nn.Linear(width, width)
        self.norm = _norm(norm, width)
        self.act = _activation(activation)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        h = self.linear(x)
        if self.norm is not None:
            h = self.norm(h)
        return x + self.dropout(self.act(h))


class JsonEncoder(nn.Module):
    """The K-Fashion JSON encoder built from its config (best_model.json -> "encoder")."""

    def __init__(self, config):
        super().__init__()
        c = config
        d, h = c["embedDim"], c["hiddenDim"]
        norm, act, p = c.get("norm", "none"), c.get("activation", "relu"), c["dropout"]
        self.fields = list(c["fields"])
        self.field_embeddings = nn.ModuleDict(
            {f: nn.Embedding(c["vocabSizes"][f], d, padding_idx=0) for f in self.fields}
        )
        layers = []
        for k in range(c.get("depth", 1)):
            if k > 0 and c.get("residual", False):
                layers.append(ResidualBlock(h, norm, act, p))
                continue
            layers.append(nn.Linear(len(self.fields) * d if k == 0 else h, h))
            n = _norm(norm, h)
            if n is not None:
                layers.append(n)
            layers += [_activation(act), nn.Dropout(p)]
        layers.append(nn.Linear(h, c.get("outputDim", 512)))
        self.mlp = nn.Sequential(*layers)

    def forward(self, batch):
        """batch[field]: LongTensor [B, slots]; 0 = padding / missing (one slot for a single-valued field)."""
        parts = []
        for f in self.fields:
            idx = batch[f]
            emb = self.field_embeddings[f](idx)
            mask = (idx != 0).unsqueeze(-1).to(emb.dtype)
            parts.append((emb * mask).sum(1) / mask.sum(1).clamp(min=1))
        return F.normalize(self.mlp(torch.cat(parts, dim=-1)), dim=-1)
`;

/** The README's "Loading in PyTorch" section for a checkpoint of this config. */
export function pytorchLoadingSection(
  config: JsonEncoderConfig,
  weightsFile = 'best_model.safetensors',
): string {
  const shape = [
    `depth ${config.depth ?? 1}`,
    config.residual ? 'residual' : null,
    `norm ${config.norm ?? 'none'}`,
    `activation ${config.activation ?? 'relu'}`,
    `dropout ${config.dropout}`,
  ]
    .filter(Boolean)
    .join(', ');
  return `## Loading in PyTorch
This module builds the same layers from the config (${shape}) and loads the weights with
\`strict=True\` (only \`torch\` is needed; the safetensors reader is included):
\`\`\`python
${PYTORCH_MODULE_SOURCE}

info = json.load(open("best_model.json", encoding="utf-8"))
model = JsonEncoder(info["encoder"])
model.load_state_dict(load_safetensors("${weightsFile}"), strict=True)
model.eval()
# Index a garment's values with info["vocabulary"][field].index(value); unknown values -> 1 (<unk>).
\`\`\`
`;
}
