"""PyTorch eager baseline for bench/torch.ts: the same GPT-2 model, weights and batches as qkv.

PyTorch is a benchmark baseline, never a dependency of qkv. Run by bench/torch.ts as

    python3 bench/torch-baseline.py SPEC.json      # prints one JSON line

SPEC (written by bench/torch.ts):
    mode        "train" | "decode"
    threads     torch.set_num_threads (2 on our machines, as qkv)
    config      GPT2Config fields: vocab_size, n_positions, n_embd, n_layer, n_head, layer_norm_epsilon
    weights     a safetensors file with GPT2LMHeadModel names (qkv's initial weights, or a model folder's)
    train:      batches [[ids, targets], ...] each (B, T) as nested lists; warmup steps;
                optimizer {lr, betas, eps, weight_decay, grad_clip} (AdamW, decay on matrices only)
    decode:     prompt_ids, new_tokens (greedy, KV cache, fp32)

The model is nanoGPT's shape with Hugging Face GPT-2's parameter names and layouts (Conv1D
weights are (in, out)), tanh GELU, pre-LN, the LM head tied to wte, no dropout: what
bench/gpt.ts and src/models/gpt.ts compute. Weights are loaded without random initialisation
(built on the meta device, then assigned), as `from_pretrained` does.
"""
import json
import math
import resource
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class Conv1D(nn.Module):
    """Hugging Face GPT-2's linear layer: y = x @ W + b with W (in, out)."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_in, n_out))
        self.bias = nn.Parameter(torch.empty(n_out))

    def forward(self, x):
        shape = x.shape[:-1] + (self.weight.shape[1],)
        return torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight).view(shape)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.n_head = c["n_head"]
        self.c_attn = Conv1D(c["n_embd"], 3 * c["n_embd"])
        self.c_proj = Conv1D(c["n_embd"], c["n_embd"])

    def forward(self, x, cache=None):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))  # (B, NH, T, hs)
        past = cache is not None and cache.get("k") is not None
        if cache is not None:
            if past:
                k = torch.cat([cache["k"], k], dim=2)
                v = torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        # With past keys the new queries may see all of them (one new token per step here).
        y = F.scaled_dot_product_attention(q, k, v, is_causal=not past)
        return self.c_proj(y.transpose(1, 2).reshape(B, T, C))


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_fc = Conv1D(c["n_embd"], 4 * c["n_embd"])
        self.c_proj = Conv1D(4 * c["n_embd"], c["n_embd"])

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        eps = c.get("layer_norm_epsilon", 1e-5)
        self.ln_1 = nn.LayerNorm(c["n_embd"], eps=eps)
        self.attn = Attention(c)
        self.ln_2 = nn.LayerNorm(c["n_embd"], eps=eps)
        self.mlp = MLP(c)

    def forward(self, x, cache=None):
        x = x + self.attn(self.ln_1(x), cache)
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.wte = nn.Embedding(c["vocab_size"], c["n_embd"])
        self.wpe = nn.Embedding(c["n_positions"], c["n_embd"])
        self.h = nn.ModuleList(Block(c) for _ in range(c["n_layer"]))
        self.ln_f = nn.LayerNorm(c["n_embd"], eps=c.get("layer_norm_epsilon", 1e-5))

    def forward(self, ids, caches=None, start=0):
        T = ids.shape[1]
        x = self.wte(ids) + self.wpe(torch.arange(start, start + T))
        for i, block in enumerate(self.h):
            x = block(x, None if caches is None else caches[i])
        return self.ln_f(x) @ self.wte.weight.T  # (B, T, V), head tied to wte


DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16}


def read_safetensors(path):
    """name -> torch tensor, views into one buffer holding the file (the format: 8-byte length, JSON, data)."""
    raw = np.fromfile(path, dtype=np.uint8)
    n = int(raw[:8].view(np.uint64)[0])
    header = json.loads(raw[8 : 8 + n].tobytes())
    data = raw[8 + n :]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        array = data[begin:end].view(DTYPES[info["dtype"]]).reshape(info["shape"])
        out[name.removeprefix("transformer.")] = torch.from_numpy(array).float()
    return out


def load_model(spec):
    started = time.perf_counter()
    with torch.device("meta"):
        model = GPT(spec["config"])
    state = {k: v for k, v in read_safetensors(spec["weights"]).items() if k != "lm_head.weight" and not k.endswith((".attn.bias", ".attn.masked_bias"))}
    model.load_state_dict(state, strict=True, assign=True)
    return model, (time.perf_counter() - started) * 1000


def max_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def train(spec):
    model, load_ms = load_model(spec)
    model.train()
    opt = spec["optimizer"]
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.ndim >= 2]}, {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]
    optimizer = torch.optim.AdamW(groups, lr=opt["lr"], betas=tuple(opt["betas"]), eps=opt["eps"], weight_decay=opt["weight_decay"])
    batches = [(torch.tensor(ids, dtype=torch.long), torch.tensor(targets, dtype=torch.long)) for ids, targets in spec["batches"]]
    V = spec["config"]["vocab_size"]
    with torch.no_grad():
        ids, targets = batches[0]
        initial_loss = F.cross_entropy(model(ids).view(-1, V), targets.view(-1)).item()
    losses, times = [], []
    for i, (ids, targets) in enumerate(batches):
        started = time.perf_counter()
        loss = F.cross_entropy(model(ids).view(-1, V), targets.view(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, opt["grad_clip"])
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
        if i >= spec["warmup"]:
            times.append((time.perf_counter() - started) * 1000)
    parameters = sum(p.numel() for p in model.parameters())
    return {"parameters": parameters, "initial_loss": initial_loss, "losses": losses, "step_ms": times, "load_ms": load_ms, "max_rss_bytes": max_rss_bytes()}


def decode(spec):
    model, load_ms = load_model(spec)
    model.eval()
    with torch.no_grad():
        # A few tokens decoded and discarded first, as on the qkv side (WARMUP_TOKENS in torch.ts).
        warm_ids = list(spec["prompt_ids"])
        warm_caches = [{} for _ in model.h]
        logits = model(torch.tensor([warm_ids]), warm_caches, 0)
        for _ in range(3):
            warm_ids.append(int(torch.argmax(logits[0, -1])))
            logits = model(torch.tensor([[warm_ids[-1]]]), warm_caches, len(warm_ids) - 1)
    ids = list(spec["prompt_ids"])
    caches = [{} for _ in model.h]
    with torch.no_grad():
        started = time.perf_counter()
        logits = model(torch.tensor([ids]), caches, 0)
        for _ in range(spec["new_tokens"]):
            next_id = int(torch.argmax(logits[0, -1]))
            ids.append(next_id)
            if len(ids) - len(spec["prompt_ids"]) == spec["new_tokens"]:
                break
            logits = model(torch.tensor([[next_id]]), caches, len(ids) - 1)
        seconds = time.perf_counter() - started
    new = ids[len(spec["prompt_ids"]) :]
    return {"ids": new, "tokens_per_second": len(new) / seconds, "load_ms": load_ms, "max_rss_bytes": max_rss_bytes()}


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    torch.set_num_threads(spec["threads"])
    result = train(spec) if spec["mode"] == "train" else decode(spec)
    result["torch"] = torch.__version__
    result["threads"] = torch.get_num_threads()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
