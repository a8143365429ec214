#!/usr/bin/env python3
"""PyTorch reference for `npm run bench`: the same three reference models, the same batch, Adam, on the same cores.

Prints one JSON object {model: ms_per_step, ..., "torch": version, "threads": n} on stdout. Run by bench/bench.ts
with Debian's python3-torch; OpenBLAS (libopenblas0-pthread) is used when installed, which is PyTorch at its
best on this machine. Threads: torch.set_num_threads(N) for intra-op work, OPENBLAS_NUM_THREADS=1 (set by the
caller) so the two thread pools do not oversubscribe the cores.

The models mirror lib/ (see bench/models.ts): same widths, lengths, vocabulary, loss and optimizer.
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


class Seq2SeqAttention(nn.Module):  # lib/models/seq2seq/rnn_seq2seq.ts: BiLSTM encoder, Luong "general" attention, input feeding
    def __init__(self, emb=64, hidden=128):
        super().__init__()
        width = 2 * hidden
        self.src_emb = nn.Embedding(VOCAB, emb)
        self.tgt_emb = nn.Embedding(VOCAB, emb)
        self.encoder = nn.LSTM(emb, hidden, batch_first=True, bidirectional=True)
        self.decoder = nn.LSTMCell(emb + width, width)
        self.w_a = nn.Linear(width, width, bias=False)
        self.w_c = nn.Linear(2 * width, width, bias=False)
        self.out = nn.Linear(width, VOCAB)

    def loss(self, src, dec_in, dec_out):
        enc, (h, c) = self.encoder(self.src_emb(src))  # h, c: [2, b, hidden] -> decoder state fwd ‖ bwd
        h, c = torch.cat([h[0], h[1]], 1), torch.cat([c[0], c[1]], 1)
        keys = self.w_a(enc)  # once per source
        feed = torch.zeros_like(h)
        outs = []
        for y in self.tgt_emb(dec_in).unbind(1):
            h, c = self.decoder(torch.cat([y, feed], 1), (h, c))
            weights = torch.softmax(torch.bmm(keys, h.unsqueeze(2)).squeeze(2), 1)
            context = torch.bmm(weights.unsqueeze(1), enc).squeeze(1)
            feed = torch.tanh(self.w_c(torch.cat([context, h], 1)))
            outs.append(feed)
        logits = self.out(torch.stack(outs, 1))
        return F.cross_entropy(logits.reshape(-1, VOCAB), dec_out.reshape(-1))


def batch_for(name, gen):
    if name == "seq2seq-attention":  # source 16, target 15 + EOS: 16 decoder steps (BOS = 5, EOS = 6)
        src = torch.randint(7, VOCAB, (BATCH, 16), generator=gen)
        tgt = torch.randint(7, VOCAB, (BATCH, 15), generator=gen)
        bos = torch.full((BATCH, 1), 5)
        eos = torch.full((BATCH, 1), 6)
        return (src, torch.cat([bos, tgt], 1), torch.cat([tgt, eos], 1))
    if name == "transformer-mlm":
        ids = torch.randint(7, VOCAB, (BATCH, 64), generator=gen)
        weights = (torch.rand(BATCH, 64, generator=gen) < 0.15).float()
        return (ids.masked_fill(weights.bool(), 4), ids, weights)
    length = 32
    return (torch.randint(7, VOCAB, (BATCH, length), generator=gen), torch.randint(0, 2, (BATCH,), generator=gen))


def time_model(name, model, warmup, repeats):
    gen = torch.Generator().manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    batch = batch_for(name, gen)

    def step():
        opt.zero_grad()
        model.loss(*batch).backward()
        opt.step()

    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    models = {"lstm": LstmClassifier(), "conv": ConvClassifier(), "transformer-mlm": TransformerMlm(), "seq2seq-attention": Seq2SeqAttention()}
    out = {name: time_model(name, m, 3, repeats) for name, m in models.items()}
    blas = [line.strip() for line in torch.__config__.show().splitlines() if "BLAS" in line]
    print(json.dumps({**out, "torch": torch.__version__, "threads": threads, "blas": blas}))


if __name__ == "__main__":
    main()
