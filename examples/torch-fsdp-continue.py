"""Continue a qkv GPT checkpoint in PyTorch FSDP (torch.distributed, gloo), then hand it back.

qkv's model folders are Hugging Face GPT-2 folders (config.json, model.safetensors with
`transformer.*` names and Conv1D [in, out] weights, tokenizer.json), so a run that outgrows one
machine continues under torchrun:

    torchrun --nproc_per_node 2 examples/torch-fsdp-continue.py --model runs/small --tokens ids.bin --out runs/small-torch
    # or, on one machine without torchrun (spawns 2 gloo processes on 127.0.0.1):
    python3 examples/torch-fsdp-continue.py --model runs/small --tokens ids.bin --out runs/small-torch --spawn 2
    qkv generate --model runs/small-torch ...        # back in qkv

`--tokens` is the training token ids as little-endian int32 (what qkv's tokenizer.encodeIds
gives). Needs only torch: the safetensors format and the GPT-2 forward are written out below, so
transformers is not required. `--probe` (int32 ids, one sequence) prints the probe's loss before
and after training as JSON, so the caller can check the hand-off both ways.
"""
import argparse
import json
import math
import os
import shutil
import struct

import torch
import torch.distributed as dist
import torch.nn.functional as F

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[start:end]), dtype=DTYPES[info["dtype"]]).reshape(info["shape"]).float()
    return out


def write_safetensors(path, tensors):
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        raw = tensors[name].detach().contiguous().float().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    encoded = json.dumps(header).encode()
    encoded += b" " * (-len(encoded) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(encoded)) + encoded + b"".join(blobs))
    os.replace(tmp, path)  # atomic, as qkv writes


class Block(torch.nn.Module):
    """GPT-2 block with Conv1D weights ([in, out]) under Hugging Face's names."""

    def __init__(self, c, n_head, eps):
        super().__init__()
        self.n_head, self.eps = n_head, eps
        self.ln_1 = torch.nn.LayerNorm(c, eps=eps)
        self.ln_2 = torch.nn.LayerNorm(c, eps=eps)
        self.attn = torch.nn.ParameterDict({"c_attn_weight": torch.nn.Parameter(torch.empty(c, 3 * c)), "c_attn_bias": torch.nn.Parameter(torch.empty(3 * c)),
                                            "c_proj_weight": torch.nn.Parameter(torch.empty(c, c)), "c_proj_bias": torch.nn.Parameter(torch.empty(c))})
        self.mlp = torch.nn.ParameterDict({"c_fc_weight": torch.nn.Parameter(torch.empty(c, 4 * c)), "c_fc_bias": torch.nn.Parameter(torch.empty(4 * c)),
                                           "c_proj_weight": torch.nn.Parameter(torch.empty(4 * c, c)), "c_proj_bias": torch.nn.Parameter(torch.empty(c))})

    def forward(self, x):  # x: (B, T, C)
        B, T, C = x.shape
        a = self.attn
        qkv = self.ln_1(x) @ a["c_attn_weight"] + a["c_attn_bias"]
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in qkv.split(C, dim=2))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(B, T, C)
        x = x + y @ a["c_proj_weight"] + a["c_proj_bias"]
        m = self.mlp
        h = F.gelu(self.ln_2(x) @ m["c_fc_weight"] + m["c_fc_bias"], approximate="tanh")  # gelu_new
        return x + h @ m["c_proj_weight"] + m["c_proj_bias"]


class GPT2(torch.nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c = cfg["n_embd"]
        self.wte = torch.nn.Parameter(torch.empty(cfg["vocab_size"], c))
        self.wpe = torch.nn.Parameter(torch.empty(cfg["n_positions"], c))
        self.h = torch.nn.ModuleList(Block(c, cfg["n_head"], cfg["layer_norm_epsilon"]) for _ in range(cfg["n_layer"]))
        self.ln_f = torch.nn.LayerNorm(c, eps=cfg["layer_norm_epsilon"])

    def forward(self, ids, targets):  # ids, targets: (B, T)
        x = self.wte[ids] + self.wpe[: ids.shape[1]]
        for block in self.h:
            x = block(x)
        logits = self.ln_f(x) @ self.wte.t()  # tied head, as tie_word_embeddings
        return F.cross_entropy(logits.flatten(0, 1), targets.flatten())


def hf_name(name):
    """Our parameter name -> the Hugging Face GPT2LMHeadModel name qkv writes."""
    if name in ("wte", "wpe"):
        return f"transformer.{name}.weight"
    for part in ("c_attn_", "c_proj_", "c_fc_"):
        name = name.replace(part, part[:-1] + ".")
    return "transformer." + name


def load_into(model, weights):
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(weights[hf_name(name)])


def probe_loss(model, probe):
    with torch.no_grad():
        return float(model(probe[None, :-1], probe[None, 1:]))


def train(rank, world, args):
    if "RANK" not in os.environ:  # spawned: set up the rendezvous torchrun would
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(args.port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.manual_seed(args.seed)
    cfg = json.load(open(os.path.join(args.model, "config.json")))
    model = GPT2(cfg)
    load_into(model, read_safetensors(os.path.join(args.model, "model.safetensors")))
    probe = torch.from_numpy(__import__("numpy").fromfile(args.probe, dtype="<i4").astype("int64")) if args.probe else None
    before = probe_loss(model, probe) if probe is not None else None
    from torch.distributed.fsdp import fully_shard  # FSDP2: every block, then the root
    for block in model.h:
        fully_shard(block)
    fully_shard(model)
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay}, {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.99), weight_decay=0.1)
    tokens = torch.from_numpy(__import__("numpy").fromfile(args.tokens, dtype="<i4").astype("int64"))
    g = torch.Generator().manual_seed(args.seed + rank)  # each rank its own batches
    for step in range(args.steps):
        starts = torch.randint(0, len(tokens) - args.block_size - 1, (args.batch_size,), generator=g)
        window = torch.stack([tokens[s : s + args.block_size + 1] for s in starts])
        loss = model(window[:, :-1], window[:, 1:])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad()
        if rank == 0:
            print(json.dumps({"step": step + 1, "loss": float(loss.detach())}), flush=True)
    full = {hf_name(n): p.full_tensor() for n, p in model.named_parameters()}  # all-gather the shards
    if rank == 0:
        os.makedirs(args.out, exist_ok=True)
        for name in ("config.json", "tokenizer.json", "generation_config.json"):
            if os.path.exists(os.path.join(args.model, name)):
                shutil.copyfile(os.path.join(args.model, name), os.path.join(args.out, name))
        write_safetensors(os.path.join(args.out, "model.safetensors"), full)
        if probe is not None:
            plain = GPT2(cfg)
            load_into(plain, full)
            print(json.dumps({"probe_loss_before": before, "probe_loss_after": probe_loss(plain, probe)}), flush=True)
    dist.barrier()
    dist.destroy_process_group()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="qkv GPT model folder")
    parser.add_argument("--tokens", required=True, help="training token ids, int32 little-endian")
    parser.add_argument("--out", required=True, help="model folder to write (loads back into qkv)")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--block-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--probe", help="int32 ids of one sequence whose loss is printed before and after")
    parser.add_argument("--spawn", type=int, default=0, help="without torchrun: spawn this many gloo processes on 127.0.0.1")
    parser.add_argument("--port", type=int, default=29517)
    args = parser.parse_args()
    if args.spawn:
        torch.multiprocessing.spawn(train, args=(args.spawn, args), nprocs=args.spawn)
    else:
        train(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), args)


if __name__ == "__main__":
    main()
