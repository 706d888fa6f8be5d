"""MIL-NCE on CUDA: training throughput at bf16, the loss at 4096 x 4 candidates, and one train step.

Prints one JSON line. Without CUDA it prints ``{"benchmark": "milnce_gpu", "skipped": ...}`` and exits 0.

    python benchmarks/bench_milnce_gpu.py [--batch-size 512] [--steps 30]

- ``train_clips_per_s``: clips/s of the second epoch of ``wsl.milnce.train`` (default model, bf16
  autocast, features path, loader workers) on a generated narrated set; the first epoch warms up.
- ``loss_4096x4_ms``: MIL-NCE forward + backward on 4096 clips x 4 candidates (512-d), against
  single-positive NCE on the same batch (the baseline ratio).
- ``train_step_ms``: one optimiser step of the default dual encoder on a batch of ``--batch-size``
  (forward, loss, backward, AdamW) at bf16.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import time
from pathlib import Path


def _timed(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    import torch

    fn()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) / repeats * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch-size", type=int, default=512)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--out", type=Path, default=Path("/tmp/bench_milnce_gpu"))
    args = ap.parse_args()
    import torch

    if not torch.cuda.is_available():
        print(json.dumps({"benchmark": "milnce_gpu", "skipped": "no CUDA device"}))
        return
    from wsl.data.synth_narrated_set import NarratedSetParams, make_narrated_set
    from wsl.milnce import MilNceConfig, train
    from wsl.milnce.loss import milnce_loss, nce_loss
    from wsl.milnce.model import build_model

    dev = torch.device("cuda")
    res: dict[str, object] = {"benchmark": "milnce_gpu", "gpu": torch.cuda.get_device_name(),
                              "machine": f"{platform.machine()}, torch {torch.__version__}",
                              "batch_size": args.batch_size}

    # the loss alone, 4096 x 4 candidates, 512-d, float32 similarities (as under autocast)
    g = torch.Generator(device="cuda").manual_seed(0)
    v = torch.nn.functional.normalize(torch.randn(4096, 512, device=dev, generator=g), dim=-1).requires_grad_()
    t = torch.nn.functional.normalize(torch.randn(4096, 4, 512, device=dev, generator=g), dim=-1).requires_grad_()
    res["loss_4096x4_ms"] = round(_timed(lambda: milnce_loss(v, t, temperature=0.05).backward(), 10), 2)
    res["nce_4096_ms"] = round(_timed(lambda: nce_loss(v, t[:, 0], temperature=0.05).backward(), 10), 2)
    res["loss_ratio_milnce_over_nce"] = round(res["loss_4096x4_ms"] / max(res["nce_4096_ms"], 1e-9), 2)  # type: ignore[operator]

    # one train step of the default model at bf16
    cfg = MilNceConfig(feature_dim=512, vocab=tuple(f"w{i}" for i in range(20000)))
    model = build_model(cfg).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    b = args.batch_size
    feats = torch.randn(b, cfg.clip_steps, 512, device=dev)
    words = torch.randint(1, 20000, (b, cfg.candidates, cfg.max_words), device=dev)

    def step() -> None:
        with torch.autocast("cuda", dtype=torch.bfloat16):
            ve, te = model(feats, words)
            loss = milnce_loss(ve, te, temperature=cfg.temperature)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    res["train_step_ms"] = round(_timed(step, 20), 2)
    res["train_step_clips_per_s"] = round(b / (res["train_step_ms"] / 1000), 1)  # type: ignore[operator]

    # the whole training loop (data loading included), second epoch
    shutil.rmtree(args.out, ignore_errors=True)
    data = args.out / "data"
    make_narrated_set(data, NarratedSetParams(train_videos=400, test_videos=1))
    per_video = max(1, args.steps * b // 400)
    r = train(data / "train", args.out / "run", epochs=2, batch_size=b, device="cuda", clips_per_video=per_video,
              validation=0.0)
    res["train_clips_per_s"] = round(r.history[-1]["samples_per_s"], 1)
    res["train_steps_per_epoch"] = r.history[-1]["step"] - r.history[0]["step"]
    print(json.dumps(res))


if __name__ == "__main__":
    main()
