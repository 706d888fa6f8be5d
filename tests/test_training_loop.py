"""The shared training loop: learning, exact resume, logs, failure modes, and DDP on CPU (gloo)."""

from __future__ import annotations

import json
import os
import socket

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from wsl.errors import BadInput, WorkFailed
from wsl.models.run_folder import load_checkpoint, load_run_config, read_log, save_run_config
from wsl.models.training import TrainConfig, fit


def _data(n: int = 64) -> TensorDataset:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 4, generator=g)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 0.0]) + 0.3
    return TensorDataset(x, y)


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 16), nn.Dropout(0.1), nn.ReLU(), nn.Linear(16, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).squeeze(-1)


def _loss(model: nn.Module, batch) -> tuple[torch.Tensor, dict[str, float]]:
    x, y = batch
    err = model(x) - y
    return (err**2).mean(), {"mae": float(err.detach().abs().mean())}


def _model(seed: int = 0) -> _Net:
    torch.manual_seed(seed)
    return _Net()


def test_fit_learns_and_logs(tmp_path) -> None:
    cfg = TrainConfig(epochs=10, batch_size=16, lr=3e-2, seed=1)
    history = fit(_model(), _data(), _loss, cfg, tmp_path, eval_fn=lambda m: {"probe": 1.0})
    assert history[-1]["loss"] < 0.2 * history[0]["loss"]
    assert [r["epoch"] for r in read_log(tmp_path)] == list(range(10))
    assert {"mae", "probe", "samples_per_s", "lr"} <= set(history[-1])
    assert history[-1]["step"] == 10 * 4


def test_resume_continues_exactly(tmp_path) -> None:
    cfg = TrainConfig(epochs=4, batch_size=16, lr=1e-2, seed=3)
    straight = _model()
    fit(straight, _data(), _loss, cfg, tmp_path / "a")
    def interrupt(record):
        if record["epoch"] == 1:
            raise KeyboardInterrupt  # killed after the second epoch's checkpoint

    with pytest.raises(KeyboardInterrupt):
        fit(_model(), _data(), _loss, cfg, tmp_path / "b", on_epoch=interrupt)
    assert len(read_log(tmp_path / "b")) == 2
    resumed = _model(seed=99)  # different init: everything must come from the checkpoint
    fit(resumed, _data(), _loss, cfg, tmp_path / "b", resume=True)
    for k, v in straight.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[k], v)
    assert [r["epoch"] for r in read_log(tmp_path / "b")] == [0, 1, 2, 3]


def test_existing_run_needs_resume(tmp_path) -> None:
    cfg = TrainConfig(epochs=1, batch_size=16)
    fit(_model(), _data(), _loss, cfg, tmp_path)
    with pytest.raises(BadInput, match="to continue it") as e:
        fit(_model(), _data(), _loss, cfg, tmp_path)
    assert e.value.param == "resume"


def test_divergence_is_a_work_failure(tmp_path) -> None:
    def bad_loss(model, batch):
        return model(batch[0]).sum() * float("nan"), {}

    with pytest.raises(WorkFailed, match="diverged"):
        fit(_model(), _data(), bad_loss, TrainConfig(epochs=1, batch_size=16), tmp_path)


def test_too_few_samples(tmp_path) -> None:
    with pytest.raises(BadInput, match="batch size"):
        fit(_model(), _data(8), _loss, TrainConfig(batch_size=16), tmp_path)


def test_checkpoint_is_weights_only_and_checked(tmp_path) -> None:
    fit(_model(), _data(), _loss, TrainConfig(epochs=1, batch_size=16), tmp_path)
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert state["epoch"] == 0 and "optimizer" in state
    with pytest.raises(BadInput, match="does not fit"):
        load_checkpoint(tmp_path / "checkpoint.pt", nn.Linear(3, 3))


def test_run_config_versions(tmp_path) -> None:
    save_run_config(tmp_path, "localize", {"classes": ["a"]})
    assert load_run_config(tmp_path, "localize")["classes"] == ["a"]
    with pytest.raises(BadInput, match="not a milnce model"):
        load_run_config(tmp_path, "milnce")
    cfg = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**cfg, "format": 0, "wsl_version": "0.0.1"}))
    with pytest.raises(BadInput, match="format 0"):
        load_run_config(tmp_path, "localize")
    with pytest.raises(BadInput, match="not a run folder"):
        load_run_config(tmp_path / "none", "localize")


def _ddp_worker(rank: int, world: int, port: int, run_dir: str, out: str) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    torch.set_num_threads(1)
    model = _model()
    fit(model, _data(), _loss, TrainConfig(epochs=2, batch_size=8, lr=1e-2, device="cpu"), run_dir)
    torch.save(model.state_dict(), f"{out}.{rank}")
    torch.distributed.destroy_process_group()


def test_ddp_two_processes_on_cpu(tmp_path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    torch.multiprocessing.spawn(_ddp_worker, args=(2, port, str(tmp_path / "run"), str(tmp_path / "w")), nprocs=2)
    a, b = (torch.load(tmp_path / f"w.{r}", weights_only=True) for r in (0, 1))
    for k in a:
        torch.testing.assert_close(a[k], b[k])  # DDP keeps the replicas identical
    log = read_log(tmp_path / "run")
    assert len(log) == 2 and log[-1]["step"] == 2 * (64 // 2 // 8)


def test_prepare_run_owns_the_run_folder(tmp_path) -> None:
    from wsl.models.run_folder import prepare_run

    config = {"model": {"width": 16}, "train": {"lr": 0.1, "device": "cpu"}, "data": {"images": 10}}
    run = prepare_run(tmp_path / "r", "toy", config, device="cpu", seed=3)
    a = torch.rand(3)
    assert run.device.type == "cpu" and not run.resume and run.is_main
    assert json.loads((tmp_path / "r" / "config.json").read_text())["model"] == {"width": 16}
    prepare_run(tmp_path / "r", "toy", config, device="cpu", seed=3)
    assert torch.equal(torch.rand(3), a)  # seeded before anything random is built
    (tmp_path / "r" / "checkpoint.pt").write_bytes(b"")
    with pytest.raises(BadInput, match="to continue it") as e:
        prepare_run(tmp_path / "r", "toy", config, device="cpu")
    assert e.value.param == "resume"
    changed = {**config, "model": {"width": 32}}
    with pytest.raises(BadInput, match=r"changed settings: model\.width \(16 -> 32\)"):
        prepare_run(tmp_path / "r", "toy", changed, resume=True, device="cpu")
    moved = {**config, "train": {"lr": 0.1, "device": "cuda"}, "data": {"images": 12}}
    assert prepare_run(tmp_path / "r", "toy", moved, resume=True, device="cpu").resume  # device may change
    with pytest.raises(BadInput, match="another|holds a"):
        prepare_run(tmp_path / "r", "other", config, resume=True, device="cpu")


def test_device_names_are_checked() -> None:
    from wsl.models.runtime import select_device

    assert select_device("cpu").type == "cpu"
    with pytest.raises(BadInput, match="not a torch device|not supported") as e:
        select_device("gpu0")
    assert e.value.param == "device"
    if not torch.cuda.is_available():
        with pytest.raises(BadInput, match="CUDA is not available"):
            select_device("cuda:1")
