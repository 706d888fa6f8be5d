"""GPU throughput of localize fine-tuning: images/s at 448 px, batch 64, bf16, channels_last, Lite0 with its
last 2 stages trained (frozen BatchNorm), against the frozen-trunk head-only step in the same process.
Prints one JSON line; skips cleanly (a JSON line saying so) without CUDA.
Run: python benchmarks/bench_localize_gpu.py
"""

from __future__ import annotations

import json
import time


def main() -> None:
    import torch

    if not torch.cuda.is_available():
        print(json.dumps({"bench": "localize_gpu", "skipped": "no CUDA"}))
        return
    from wsl.localize.model import GlobalMaxPoolLocalizer, multilabel_loss

    torch.manual_seed(0)
    fig: dict[str, object] = {"bench": "localize_gpu", "device": torch.cuda.get_device_name(0), "batch": 64,
                              "size": 448}
    for stages in (2, 0):
        model = GlobalMaxPoolLocalizer(20, "lite0", 512, 0.3, finetune_stages=stages).cuda()
        model = model.to(memory_format=torch.channels_last).train()
        opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
        x = torch.randn(64, 3, 448, 448, device="cuda").contiguous(memory_format=torch.channels_last)
        y = (torch.rand(64, 20, device="cuda") < 0.1).float()

        def step(model=model, opt=opt, x=x, y=y) -> None:  # type: ignore[no-untyped-def]
            with torch.autocast("cuda", dtype=torch.bfloat16):
                scores, _ = model(x)
                loss = multilabel_loss(scores, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        for _ in range(3):
            step()
        torch.cuda.synchronize()
        t = time.perf_counter()
        n = 20
        for _ in range(n):
            step()
        torch.cuda.synchronize()
        key = f"finetune_{stages}_stages_images_per_s" if stages else "frozen_trunk_images_per_s"
        fig[key] = round(n * 64 / (time.perf_counter() - t), 1)
    fig["peak_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    print(json.dumps(fig))


if __name__ == "__main__":
    main()
