"""bf16 training: fp32 master weights keep steps a bf16 weight cannot hold, the vocabulary projection only where a
label follows gives the same loss, and `medtuned train` with precision=bf16 trains bf16 weights end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from safetensors.torch import load_file  # noqa: E402

from medtuned_core.testing_models import build_tiny_model, tiny_llama, tiny_rows, tiny_tokenizer, write_build_output  # noqa: E402
from medtuned_core.train import train  # noqa: E402
from medtuned_core.train.attention import use_packed_attention  # noqa: E402
from medtuned_core.train.data import encode_rows, make_collator, supports_label_positions  # noqa: E402
from medtuned_core.train.plots import loss_points  # noqa: E402
from medtuned_core.train.precision import MasterWeightAdamW  # noqa: E402

torch.set_num_threads(1)


def test_master_weights_keep_steps_below_bf16_resolution() -> None:
    weight = torch.full((4,), 0.5, dtype=torch.bfloat16, requires_grad=True)  # bf16 spacing at 0.5: 2**-9 ~ 0.002
    plain = torch.full((4,), 0.5, dtype=torch.bfloat16, requires_grad=True)
    master = MasterWeightAdamW([weight], lr=1e-4, weight_decay=0.0)
    naive = torch.optim.AdamW([plain], lr=1e-4, weight_decay=0.0)
    for _ in range(50):
        for p, opt in ((weight, master), (plain, naive)):
            p.grad = torch.ones_like(p)
            opt.step()
            opt.zero_grad()
    assert torch.equal(plain, torch.full_like(plain, 0.5))  # every 1e-4 step rounded away
    assert master.masters[0].dtype == torch.float32 and abs(float(master.masters[0][0].detach()) - (0.5 - 50e-4)) < 1e-5
    assert weight.dtype == torch.bfloat16 and torch.equal(weight, master.masters[0].to(torch.bfloat16)) and float(weight[0]) < 0.5
    assert weight.grad is None


def test_master_weights_travel_in_the_state_dict() -> None:
    weight = torch.zeros(3, dtype=torch.bfloat16, requires_grad=True)
    opt = MasterWeightAdamW([{"params": [weight], "weight_decay": 0.0}], lr=1e-3, fused=True)
    weight.grad = torch.ones_like(weight)
    opt.step()
    state = opt.state_dict()
    fresh_weight = torch.zeros(3, dtype=torch.bfloat16, requires_grad=True)
    fresh = MasterWeightAdamW([{"params": [fresh_weight], "weight_decay": 0.0}], lr=1e-3, fused=True)
    fresh.load_state_dict(state)
    assert torch.equal(fresh.masters[0], opt.masters[0]) and torch.equal(fresh_weight, weight)
    assert torch.equal(fresh.state[fresh.masters[0]]["exp_avg"], opt.state[opt.masters[0]]["exp_avg"])
    fp32 = torch.zeros(2, requires_grad=True)
    assert MasterWeightAdamW([fp32], lr=1e-3).masters[0] is fp32  # fp32 parameters need no copy


@pytest.mark.parametrize("packing", [True, False])
def test_projecting_only_label_positions_gives_the_same_loss_and_gradients(packing: bool) -> None:
    tokenizer = tiny_tokenizer()
    model = tiny_llama(tokenizer).double()
    use_packed_attention(model)
    assert supports_label_positions(model)
    features = [{"input_ids": e.input_ids, "labels": e.labels} for e in encode_rows(tokenizer, tiny_rows(5, seed=3))]
    full = make_collator(tokenizer, packing=packing)(features)
    kept = make_collator(tokenizer, packing=packing, label_positions=True)(features)
    assert int(kept["logits_to_keep"].sum()) == len(kept["shift_labels"]) < kept["input_ids"].numel()
    losses, grads = [], []
    for batch in (full, kept):
        model.zero_grad()
        loss = model(**batch).loss
        loss.backward()
        losses.append(float(loss))
        grads.append(model.model.layers[0].mlp.up_proj.weight.grad.clone())
    # transformers' loss upcasts logits to float32 (down from float64 here): equal to float32 rounding
    assert losses[0] == pytest.approx(losses[1], rel=1e-6)
    assert torch.allclose(grads[0], grads[1], rtol=1e-5, atol=1e-9)


def test_bf16_training_keeps_bf16_weights_and_learns(tmp_path: Path) -> None:
    model_dir = build_tiny_model(tmp_path / "tiny")
    data = write_build_output(tmp_path / "data", n_train=32)
    out = tmp_path / "run"
    settings = {"recipe": "quick", "learning_rate": 3e-3, "warmup_steps": 0, "logging_steps": 1, "threads": 1, "max_steps": 12, "precision": "bf16"}
    export = train({**settings, "model": str(model_dir), "data": str(data), "out": str(out)})
    metrics = json.loads((out / "metrics.json").read_text())
    losses = [v for _, v in loss_points(metrics["log_history"], "loss")]
    assert len(losses) == 12 and sum(losses[-3:]) / 3 < sum(losses[:3]) / 3 - 0.3
    runtime = json.loads((out / "run_config.json").read_text())["runtime"]
    assert "fp32 master weights" in runtime["precision (resolved)"]
    weights = load_file(export / "model.safetensors")
    assert {t.dtype for t in weights.values()} == {torch.bfloat16}
