#!/usr/bin/env python3
"""PyTorch reference for `npm run bench`: the same three reference models, the same batch, Adam, on the same cores.

Prints one JSON object {"models": {model: {"wall": ms, "cpu": ms}}, "torch": version, "threads": n} on stdout
(median milliseconds per step; "cpu" is process CPU time, summed over threads). Run by bench/bench.ts
with Debian's python3-torch; OpenBLAS (libopenblas0-pthread) is used when installed, which is PyTorch at its
best on this machine. Threads: torch.set_num_threads(N) for intra-op work, OPENBLAS_NUM_THREADS=1 (set by the
caller) so the two thread pools do not oversubscribe the cores.

The models mirror lib/models/reference.ts: same widths, lengths, vocabulary, loss and optimizer.
"""
import json
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

BATCH = 32
VOCAB = 2000


class LstmClassifier(nn.Module):  # lib/models/rnn_classifier.ts, one direction
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(VOCAB, 64)
        self.lstm = nn.LSTM(64, 128, batch_first=True)
        self.head = nn.Linear(128, 2)

    def loss(self, ids, labels):
        out, _ = self.lstm(self.emb(ids))
        return F.cross_entropy(self.head(out[:, -1]), labels)


class ConvClassifier(nn.Module):  # lib/models/cnn_classifier.ts: emb 64 -> 128, 3 residual conv blocks, max-pool
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(VOCAB, 64)
        self.project = nn.Linear(64, 128)
        self.convs = nn.ModuleList([nn.Conv1d(128, 128, 3, padding=1) for _ in range(3)])
        self.head = nn.Linear(128, 2)

    def loss(self, ids, labels):
        h = self.project(self.emb(ids)).transpose(1, 2)  # [b, w, t]
        for conv in self.convs:
            h = h + F.relu(conv(h))
        return F.cross_entropy(self.head(h.max(dim=2).values), labels)


class TransformerMlm(nn.Module):  # lib/models BERT objective: post-LN encoder, tied MLM output, loss on masked positions
    def __init__(self, d=128, heads=4, ffn=512, layers=2, length=64):
        super().__init__()
        self.emb = nn.Embedding(VOCAB, d)
        self.pos = nn.Parameter(torch.randn(length, d) * 0.02)
        self.norm = nn.LayerNorm(d)
        layer = nn.TransformerEncoderLayer(d, heads, ffn, dropout=0.0, activation="gelu", batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.bias = nn.Parameter(torch.zeros(VOCAB))

    def loss(self, ids, targets, weights):
        h = self.encoder(self.norm(self.emb(ids) + self.pos))
        logits = h @ self.emb.weight.T + self.bias
        ce = F.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1), reduction="none")
        return (ce * weights.reshape(-1)).sum() / weights.sum()


def batch_for(name, gen):
    """The batch each model trains on (random ids; the same shapes as lib/models/reference.ts's batches)."""
    if name == "transformer-mlm":
        ids = torch.randint(7, VOCAB, (BATCH, 64), generator=gen)
        weights = (torch.rand(BATCH, 64, generator=gen) < 0.15).float()
        return (ids.masked_fill(weights.bool(), 4), ids, weights)
    length = 32
    return (torch.randint(7, VOCAB, (BATCH, length), generator=gen), torch.randint(0, 2, (BATCH,), generator=gen))


def time_model(name, model, warmup, repeats):
    """Median wall and CPU (process) milliseconds per Adam step; CPU time counts every thread's work."""
    gen = torch.Generator().manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    batch = batch_for(name, gen)

    def step():
        opt.zero_grad()
        model.loss(*batch).backward()
        opt.step()

    for _ in range(warmup):
        step()
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    return {"wall": statistics.median(wall), "cpu": statistics.median(cpu)}


# The same names as lib/models/reference.ts's REFERENCE_MODELS; add a model to both.
MODELS = {"lstm": LstmClassifier, "conv": ConvClassifier, "transformer-mlm": TransformerMlm}


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    names = sys.argv[3].split(",") if len(sys.argv) > 3 else list(MODELS)
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    out = {name: time_model(name, MODELS[name](), 3, repeats) for name in names if name in MODELS}
    blas = [line.strip() for line in torch.__config__.show().splitlines() if "BLAS" in line]
    print(json.dumps({"models": out, "torch": torch.__version__, "threads": threads, "blas": blas}))


if __name__ == "__main__":
    main()
