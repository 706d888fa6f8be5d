"""MIL-NCE loss: against a loop written from the paper's formula, gradients, the NCE special case, DDP gather."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest
import torch

from wsl.milnce.loss import global_milnce_loss, milnce_loss, nce_loss


def _naive_milnce(v: torch.Tensor, t: torch.Tensor, mask: torch.Tensor, temp: float,
                  group: list[int] | None = None) -> float:
    """Loop over clips: -log(sum_pos / (sum_pos + sum over negative pairs in both directions))."""
    n, p, _ = t.shape
    group = group or list(range(n))
    total = 0.0
    for i in range(n):
        pos = sum(math.exp(float(v[i] @ t[i, q]) / temp) for q in range(p) if mask[i, q])
        neg = 0.0
        for j in range(n):
            if group[j] == group[i]:  # itself, or another clip of the same video: not a negative
                continue
            for q in range(p):
                if mask[j, q]:
                    neg += math.exp(float(v[i] @ t[j, q]) / temp)  # other clips' narrations vs clip i
                if mask[i, q]:
                    neg += math.exp(float(v[j] @ t[i, q]) / temp)  # other clips vs clip i's narrations
        total += -math.log(pos / (pos + neg))
    return total / n


def _batch(n: int = 6, p: int = 3, d: int = 5, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    v = torch.randn(n, d, generator=g, dtype=torch.float64)
    t = torch.randn(n, p, d, generator=g, dtype=torch.float64)
    mask = torch.rand(n, p, generator=g) > 0.3
    mask[:, 0] = True  # every clip keeps at least one candidate
    return v, t, mask


@pytest.mark.parametrize("temp", [1.0, 0.1])
def test_milnce_matches_naive_loop(temp: float) -> None:
    v, t, mask = _batch()
    got = float(milnce_loss(v, t, mask, temperature=temp))
    assert got == pytest.approx(_naive_milnce(v, t, mask, temp), rel=1e-9)
    # and without a mask, every candidate counts
    full = torch.ones_like(mask)
    assert float(milnce_loss(v, t, None, temperature=temp)) == pytest.approx(_naive_milnce(v, t, full, temp), rel=1e-9)
    # clips of one video are not each other's negatives
    group = [0, 1, 0, 2, 1, 3]
    got = float(milnce_loss(v, t, mask, temperature=temp, group=torch.tensor(group)))
    assert got == pytest.approx(_naive_milnce(v, t, mask, temp, group), rel=1e-9)


def test_milnce_rows_subset_averages_to_whole_batch() -> None:
    v, t, mask = _batch(n=8)
    whole = milnce_loss(v, t, mask, 0.5)
    halves = [milnce_loss(v, t, mask, 0.5, offset=o, count=4) for o in (0, 4)]
    assert float(sum(halves) / 2) == pytest.approx(float(whole), rel=1e-12)


def test_milnce_gradient_check() -> None:
    v, t, mask = _batch(n=4, p=2, d=3)
    v.requires_grad_(True)
    t.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a, b: milnce_loss(a, b, mask, 0.7), (v, t))


def test_one_candidate_is_nce() -> None:
    v, t, _ = _batch(n=7, p=1)
    group = torch.tensor([0, 0, 1, 2, 2, 2, 3])
    for temp in (1.0, 0.05):
        assert float(milnce_loss(v, t, None, temp)) == pytest.approx(float(nce_loss(v, t[:, 0], temp)), rel=1e-10)
        assert float(milnce_loss(v, t, None, temp, group=group)) == pytest.approx(
            float(nce_loss(v, t[:, 0], temp, group=group)), rel=1e-10)


def test_loss_is_stable_with_large_logits() -> None:
    v, t, mask = _batch()
    loss = milnce_loss(v.float() * 100, t.float() * 100, mask, temperature=0.01)  # logits ~ 1e6
    assert torch.isfinite(loss)


def test_better_alignment_lowers_the_loss() -> None:
    v, t, mask = _batch()
    aligned = t.clone()
    aligned[:, 0] = v * 3  # the first candidate of each clip is its own clip's direction
    assert milnce_loss(v, aligned, mask) < milnce_loss(v, t, mask)


# --- DDP: 2 CPU processes on gloo -----------------------------------------------------------------------------------

def _model() -> torch.nn.Module:
    torch.manual_seed(1)
    return torch.nn.ModuleDict({"v": torch.nn.Linear(5, 4), "t": torch.nn.Linear(5, 4)})


GROUP = torch.tensor([0, 1, 2, 0, 3, 4, 1, 5])  # clips of one video on both ranks


def _global_batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(2)
    x = torch.randn(8, 5, generator=g)
    y = torch.randn(8, 3, 5, generator=g)
    mask = torch.rand(8, 3, generator=g) > 0.3
    mask[:, 0] = True
    return x, y, mask


class _Both(torch.nn.Module):
    def __init__(self, inner: torch.nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.inner["v"](x), self.inner["t"](y)


def _ddp_worker(rank: int, world: int, init_file: str, out: str) -> None:
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        x, y, mask = _global_batch()
        n = x.shape[0] // world
        sl = slice(rank * n, (rank + 1) * n)
        model = torch.nn.parallel.DistributedDataParallel(_Both(_model()))
        v, t = model(x[sl], y[sl])
        loss = global_milnce_loss(v, t, mask[sl], temperature=0.5, group=GROUP[sl])
        loss.backward()  # DDP averages the parameter gradients over the ranks
        mean_loss = loss.detach().clone()
        dist.all_reduce(mean_loss)
        grads = {k: p.grad.clone() for k, p in model.module.named_parameters()}
        torch.save({"loss": mean_loss / world, "grads": grads}, f"{out}.{rank}")
    finally:
        dist.destroy_process_group()


def test_ddp_gather_equals_single_process_on_the_global_batch(tmp_path: Path) -> None:
    import torch.multiprocessing as mp

    world = 2
    out = str(tmp_path / "result")
    env = {k: os.environ.pop(k) for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK") if k in os.environ}
    try:
        mp.spawn(_ddp_worker, args=(world, str(tmp_path / "init"), out), nprocs=world, join=True)
    finally:
        os.environ.update(env)
    x, y, mask = _global_batch()
    model = _Both(_model())
    v, t = model(x, y)
    loss = milnce_loss(v, t, mask, temperature=0.5, group=GROUP)
    loss.backward()
    for rank in range(world):
        got = torch.load(f"{out}.{rank}", weights_only=True)
        assert float(got["loss"]) == pytest.approx(float(loss.detach()), rel=1e-5)
        for k, p in model.named_parameters():
            torch.testing.assert_close(got["grads"][k], p.grad, rtol=1e-5, atol=1e-6)


@pytest.mark.gpu
def test_loss_on_gpu_matches_cpu_under_bf16_autocast() -> None:
    v, t, mask = _batch(n=64, p=4, d=32)
    cpu = milnce_loss(v.float(), t.float(), mask, 0.07)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        gpu = milnce_loss(v.float().cuda(), t.float().cuda(), mask.cuda(), 0.07)
    assert gpu.dtype == torch.float32
    assert float(gpu) == pytest.approx(float(cpu), rel=1e-4)
