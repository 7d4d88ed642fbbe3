"""Model FLOPs utilisation of one DeepSpeed ZeRO-3 training step on a GPU (target: >= 45 % on an H100).

A ~1.1B-parameter Llama (TinyLlama shape: hidden 2048, 22 layers, 32 heads, 4 KV heads, MLP 5632, vocab 32000) is
built from a config with random weights (speed does not depend on the values), wrapped by DeepSpeed with the ZeRO-3
config `medtuned train` ships (`train/configs/zero3.json`, "auto" values filled as the HF Trainer would), bf16, and
trained on packed batches of random tokens (rows of --row-tokens tokens, position ids restarting per row) through the
same attention path as `medtuned train`: flash-attention 2 when installed, else per-example SDPA.

MFU = 6 * N * tokens / step seconds / peak, N = all parameters (the embedding-free figure is printed too); peak
defaults to the H100 SXM dense bf16 figure (989 TFLOP/s; use --peak-tflops 756 for the H100 PCIe).

    python benchmarks/gpu_zero3_mfu.py [--tokens 16384] [--row-tokens 2048] [--steps 6] [--peak-tflops 989]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import time
from importlib import resources

import torch


def zero3_config(micro_batch_tokens: int) -> dict:
    config = json.loads(resources.files("medtuned_core.train").joinpath("configs", "zero3.json").read_text())
    hidden = 2048
    # The HF Trainer fills these "auto" values the same way (transformers.integrations.deepspeed).
    config.update({"train_micro_batch_size_per_gpu": 1, "gradient_accumulation_steps": 1, "train_batch_size": 1, "gradient_clipping": 1.0})
    config["bf16"] = {"enabled": True}
    config["fp16"] = {"enabled": False}
    zero = config["zero_optimization"]
    zero.update(
        {"reduce_bucket_size": hidden * hidden, "stage3_prefetch_bucket_size": int(0.9 * hidden * hidden), "stage3_param_persistence_threshold": 10 * hidden}
    )
    config["optimizer"] = {"type": "AdamW", "params": {"lr": 1e-5, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0}}
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=16384, help="tokens per step (packed into one row)")
    parser.add_argument("--row-tokens", type=int, default=2048, help="length of each packed example")
    parser.add_argument("--steps", type=int, default=6, help="timed steps (after 2 warm-up steps)")
    parser.add_argument("--peak-tflops", type=float, default=989.0)
    parser.add_argument("--gradient-checkpointing", action="store_true")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("needs a CUDA GPU")
    os.environ.update(
        {
            k: v
            for k, v in {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29591"}.items()
            if k not in os.environ
        }
    )

    import deepspeed
    from transformers import LlamaConfig, LlamaForCausalLM

    from medtuned_core.train.attention import use_packed_attention

    deepspeed.init_distributed()
    torch.cuda.set_device(0)
    cfg = LlamaConfig(
        vocab_size=32000,
        hidden_size=2048,
        intermediate_size=5632,
        num_hidden_layers=22,
        num_attention_heads=32,
        num_key_value_heads=4,
        max_position_embeddings=4096,
        use_cache=False,
        tie_word_embeddings=False,
    )
    attn = "flash_attention_2" if importlib.util.find_spec("flash_attn") else "sdpa"
    ds_config = zero3_config(args.tokens)
    with deepspeed.zero.Init(config_dict_or_path=ds_config, dtype=torch.bfloat16):
        model = LlamaForCausalLM._from_config(cfg, attn_implementation=attn, dtype=torch.bfloat16)
    if attn == "sdpa":
        use_packed_attention(model)
    if args.gradient_checkpointing:
        model.gradient_checkpointing_enable()
    n_params = sum(getattr(p, "ds_numel", p.numel()) for p in model.parameters())
    n_embed = 2 * cfg.vocab_size * cfg.hidden_size
    engine, *_ = deepspeed.initialize(model=model, model_parameters=model.parameters(), config=ds_config)

    rows = args.tokens // args.row_tokens
    input_ids = torch.randint(0, cfg.vocab_size, (1, rows * args.row_tokens), device="cuda")
    position_ids = torch.arange(args.row_tokens, device="cuda").repeat(rows).unsqueeze(0)
    labels = input_ids.clone()
    labels[0, :: args.row_tokens] = -100  # no loss across a row boundary, as the packing collator does

    def step() -> float:
        loss = engine(input_ids=input_ids, position_ids=position_ids, labels=labels, use_cache=False).loss
        engine.backward(loss)
        engine.step()
        return loss.item()

    for _ in range(2):
        step()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    torch.cuda.synchronize()
    seconds = (time.perf_counter() - start) / args.steps
    tokens = rows * args.row_tokens
    peak = args.peak_tflops * 1e12
    mfu = 6 * n_params * tokens / seconds / peak
    mfu_no_embed = 6 * (n_params - n_embed) * tokens / seconds / peak
    print(f"device: {torch.cuda.get_device_name(0)}; attention {model.config._attn_implementation}; ZeRO-3 bf16, 1 GPU")
    print(f"parameters: {n_params / 1e9:.3f} B ({(n_params - n_embed) / 1e9:.3f} B without embeddings)")
    print(f"tokens per step: {tokens} ({rows} packed rows of {args.row_tokens}); step {seconds * 1000:.1f} ms; {tokens / seconds:,.0f} tokens/s")
    print(
        f"MFU: {100 * mfu:.1f} % (6*N*tokens/time/peak, peak {args.peak_tflops:.0f} TFLOP/s); without embeddings {100 * mfu_no_embed:.1f} %  (target >= 45 %)"
    )
    print(f"peak GPU memory: {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")


if __name__ == "__main__":
    main()
