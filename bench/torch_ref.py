#!/usr/bin/env python3
"""PyTorch reference for `npm run bench`: the same reference models, the same batch, Adam, on the same cores.

Prints one JSON object {"models": {model: {"wall": ms, "cpu": ms, "params": n}}, "torch": version, "threads": n}
on stdout (median milliseconds per step; "cpu" is process CPU time, summed over threads; "params" the model's
parameter count). Run by bench/bench.ts
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
    PARAMS = 679760  # ElectraModel({ objective: "bert", ... })'s paramCount() at this size

    def __init__(self, d=128, heads=4, ffn=512, layers=2, length=64):
        super().__init__()
        self.emb = nn.Embedding(VOCAB, d)
        self.pos = nn.Parameter(torch.randn(length, d) * 0.02)
        self.norm = nn.LayerNorm(d)
        layer = nn.TransformerEncoderLayer(d, heads, ffn, dropout=0.0, activation="gelu", batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        # BERT's MLM head (lib/models/electra_heads.ts TiedMlmHead): dense + GELU + LayerNorm, then the tied table.
        self.head_dense = nn.Linear(d, d)
        self.head_norm = nn.LayerNorm(d)
        self.bias = nn.Parameter(torch.zeros(VOCAB))

    def loss(self, ids, targets, weights):
        h = self.encoder(self.norm(self.emb(ids) + self.pos))
        h = self.head_norm(F.gelu(self.head_dense(h)))
        logits = h @ self.emb.weight.T + self.bias
        ce = F.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1), reduction="none")
        return (ce * weights.reshape(-1)).sum() / weights.sum()


SRC_LEN, TGT_LEN = 16, 16 + 1  # the decoder reads BOS y1..y16 and predicts y1..y16 EOS (lib/data/seq2seq.ts)


def masked_mean_ce(logits, targets, mask):
    """lib/train/losses.ts maskedSequenceLoss: mean cross-entropy over real target tokens."""
    ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none")
    return (ce * mask.reshape(-1)).sum() / mask.sum()


class RnnSeq2Seq(nn.Module):
    """lib/models/seq2seq/rnn_seq2seq.ts without input feeding: bidirectional LSTM encoder, an LSTM decoder started
    from the encoder's final states (forward ‖ backward), teacher-forced over the whole target, Luong "general"
    attention (score h_tᵀ W_a h̄_s, masked softmax, context c_t, h̃_t = tanh(W_c [c_t; h_t])), output W_s h̃_t."""

    PARAMS = 1494992  # RnnSeq2Seq's paramCount() at this size

    def __init__(self, emb=64, hidden=128):
        super().__init__()
        width = 2 * hidden
        self.src_emb = nn.Embedding(VOCAB, emb)
        self.tgt_emb = nn.Embedding(VOCAB, emb)
        self.encoder = nn.LSTM(emb, hidden, batch_first=True, bidirectional=True)
        self.decoder = nn.LSTM(emb, width, batch_first=True)
        self.w_a = nn.Linear(width, width, bias=False)
        self.w_c = nn.Linear(2 * width, width, bias=False)
        self.out = nn.Linear(width, VOCAB)

    def loss(self, src, src_mask, dec_in, dec_out, tgt_mask):
        memory, (h, c) = self.encoder(self.src_emb(src))  # [b, S, 2H]; h, c [2, b, H]
        join = lambda s: torch.cat([s[0], s[1]], dim=-1).unsqueeze(0)  # noqa: E731 — [1, b, 2H]
        ht, _ = self.decoder(self.tgt_emb(dec_in), (join(h), join(c)))  # [b, T, 2H]
        scores = ht @ self.w_a(memory).transpose(1, 2)  # [b, T, S]
        weights = scores.masked_fill(~src_mask.bool().unsqueeze(1), -1e9).softmax(-1)
        h_tilde = torch.tanh(self.w_c(torch.cat([weights @ memory, ht], dim=-1)))
        return masked_mean_ce(self.out(h_tilde), dec_out, tgt_mask)


class TransformerSeq2Seq(nn.Module):
    """lib/models/seq2seq/transformer_seq2seq.ts, encoder-decoder: nn.Transformer with pre-LN (norm_first, and the
    final LayerNorm of each stack, as the course's pre-LN stacks), GELU, one token embedding for both sides scaled
    by √d plus fixed sinusoidal positions, an untied output layer, padding and causal masks."""

    PARAMS = 1440208  # TransformerSeq2Seq's paramCount() at this size

    def __init__(self, d=128, heads=4, ffn=512, layers=2):
        super().__init__()
        self.d = d
        self.emb = nn.Embedding(VOCAB, d)
        pos = torch.arange(64).unsqueeze(1) / torch.pow(10000.0, torch.arange(0, d, 2) / d)
        self.register_buffer("pos", torch.stack([pos.sin(), pos.cos()], dim=-1).reshape(64, d))
        self.transformer = nn.Transformer(d, heads, layers, layers, ffn, dropout=0.0, activation="gelu", batch_first=True, norm_first=True)
        self.out = nn.Linear(d, VOCAB)
        self.register_buffer("causal", nn.Transformer.generate_square_subsequent_mask(TGT_LEN))

    def embed(self, ids):
        return self.emb(ids) * self.d**0.5 + self.pos[: ids.shape[1]]

    def loss(self, src, src_mask, dec_in, dec_out, tgt_mask):
        pad = ~src_mask.bool()
        h = self.transformer(self.embed(src), self.embed(dec_in), tgt_mask=self.causal, src_key_padding_mask=pad, memory_key_padding_mask=pad)
        return masked_mean_ce(self.out(h), dec_out, tgt_mask)


def batch_for(name, gen):
    """The batch each model trains on (random ids; the same shapes as lib/models/reference.ts's batches)."""
    if name == "transformer-mlm":
        ids = torch.randint(7, VOCAB, (BATCH, 64), generator=gen)
        weights = (torch.rand(BATCH, 64, generator=gen) < 0.15).float()
        return (ids.masked_fill(weights.bool(), 4), ids, weights)
    if name in ("rnn-seq2seq", "transformer-seq2seq"):
        # Random pairs with BOS (5) and EOS (6) around the target (lib/data/vocab.ts), no padding: the same tensors as collateSeq2Seq's.
        src = torch.randint(7, VOCAB, (BATCH, SRC_LEN), generator=gen)
        tgt = torch.randint(7, VOCAB, (BATCH, TGT_LEN - 1), generator=gen)
        dec_in = torch.cat([torch.full((BATCH, 1), 5), tgt], dim=1)
        dec_out = torch.cat([tgt, torch.full((BATCH, 1), 6)], dim=1)
        return (src, torch.ones(BATCH, SRC_LEN), dec_in, dec_out, torch.ones(BATCH, TGT_LEN))
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
    params = sum(p.numel() for p in model.parameters())
    return {"wall": statistics.median(wall), "cpu": statistics.median(cpu), "params": params}


# The same names as lib/models/reference.ts's REFERENCE_MODELS; add a model to both.
MODELS = {
    "lstm": LstmClassifier,
    "conv": ConvClassifier,
    "transformer-mlm": TransformerMlm,
    "rnn-seq2seq": RnnSeq2Seq,
    "transformer-seq2seq": TransformerSeq2Seq,
}


def build(name):
    """A fresh model; where PARAMS is given it must equal the course model's parameter count."""
    model = MODELS[name]()
    expected = getattr(model, "PARAMS", None)
    params = sum(p.numel() for p in model.parameters())
    assert expected is None or params == expected, f"{name}: PyTorch model has {params} parameters, the course's {expected}"
    return model


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    names = sys.argv[3].split(",") if len(sys.argv) > 3 else list(MODELS)
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    out = {name: time_model(name, build(name), 3, repeats) for name in names if name in MODELS}
    blas = [line.strip() for line in torch.__config__.show().splitlines() if "BLAS" in line]
    print(json.dumps({"models": out, "torch": torch.__version__, "threads": threads, "blas": blas}))


if __name__ == "__main__":
    main()
