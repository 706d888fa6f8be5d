"""The solvers on real video features: discover-steps and label-actions on Lite0 features of real pixels.

No narrated instructional videos are available offline, so the task is assembled from real footage
with a known ground truth: each video shows the steps of one task in a fixed order (an occasional
step skipped), each step (4-16 s) a slow, randomly wandering pan/zoom over a real photograph from
scikit-image (cat, coffee, astronaut, rocket, motorcycle), with excerpts of the real Hollywood2 clip
(../shared/data/hollywood2-clip, when present; else a texture) before and between the steps (2-30 s each). Per video: an
.mp4 (160x120, 4 fps), an .srt narration ("Now pet the cat.") spoken around each step with a
random shift (N(1, 3) s from its start, 80 % of steps said) plus chatter, and truth/<video>.srt.

Then, in one process:
- `wsl.discover_steps(task)` straight on the .mp4 + .srt folder: Lite0 features extracted at 1 fps
  into the cache (the extraction time is reported; a rerun reuses it), PCA 128 (default) and 32;
  Alayrac F1 against the truth, with the baselines "each step at its narration" and "K steps
  uniformly in order"; and the same folder with the features replaced by Gaussian noise (control:
  what the narration alone gives the solver).
- `wsl.label_actions(task, transcripts)` straight on the same video folder with each video's ordered
  list of done steps (its transcript): Lite0 features from the cache, PCA 128 (default) and the raw
  1280-d, and noise features: frame accuracy against the truth at 1 fps, with the uniform baseline
  (the transcript spread evenly).

    python benchmarks/bench_real_features.py [--videos 10] [--work /tmp/wsl-bench-real]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

import wsl
from wsl.data.segments import BACKGROUND, ActionVideo, Segment
from wsl.data.synth import uniform_frames
from wsl.eval.actions import frame_accuracy
from wsl.eval.steps import read_step_ground_truth, step_f1
from wsl.features.cache import cached_features
from wsl.features.video import decode, write_video
from wsl.io import write_text
from wsl.solvers.narration import uniform_baseline
from wsl.steps.pipeline import text_stage_times
from wsl.text.subtitles import format_srt

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
STEPS = (("pet the cat", "chelsea"), ("pour the coffee", "coffee"), ("greet the astronaut", "astronaut"),
         ("launch the rocket", "rocket"), ("ride the motorcycle", "stereo_motorcycle"))
SIZE = (160, 120)
VIDEO_FPS = 4.0
FPS = 1.0
CHATTER = ("Hi everyone, welcome back.", "Thanks for watching and see you soon.")


def _photo(name: str) -> np.ndarray:
    import skimage.data

    x = getattr(skimage.data, name)()
    x = x[0] if isinstance(x, tuple) else x
    return np.repeat(x[..., None], 3, axis=2) if x.ndim == 2 else x


def _wander(img: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n frames of a camera drifting and zooming over ``img`` (crop window random walk), resized."""
    from PIL import Image

    h, w = img.shape[:2]
    out = []
    scale = rng.uniform(0.5, 0.9)
    cx, cy = rng.uniform(0.4, 0.6) * w, rng.uniform(0.4, 0.6) * h
    for _ in range(n):
        scale = float(np.clip(scale + rng.normal(0, 0.03), 0.4, 1.0))
        cw, ch = scale * w, scale * w * SIZE[1] / SIZE[0]
        ch = min(ch, h)
        cx = float(np.clip(cx + rng.normal(0, 0.03 * w), cw / 2, w - cw / 2))
        cy = float(np.clip(cy + rng.normal(0, 0.03 * h), ch / 2, h - ch / 2))
        box = (int(cx - cw / 2), int(cy - ch / 2), int(cx + cw / 2), int(cy + ch / 2))
        out.append(np.asarray(Image.fromarray(img).crop(box).resize(SIZE, Image.Resampling.BILINEAR)))
    return np.stack(out)


def _filler(rng: np.random.Generator, n: int, clip: np.ndarray | None) -> np.ndarray:
    if clip is not None:
        # play the clip back and forth from a random frame (it lasts 8 s; gaps up to 30 s)
        period = 2 * len(clip) - 2
        idx = (int(rng.integers(len(clip))) + np.arange(n)) % period
        return clip[np.where(idx < len(clip), idx, period - idx)]
    return _wander(_photo(["grass", "gravel", "brick"][int(rng.integers(3))]), n, rng)


def make_task(folder: Path, n_videos: int, seed: int = 0) -> dict[str, ActionVideo]:
    """Write the task folder (.mp4 + .srt) and truth/; returns the ground truth."""
    rng = np.random.default_rng(seed)
    photos = {label: _photo(name) for label, name in STEPS}
    src = DATA / "hollywood2-clip" / "hollywood2_actioncliptrain00001_h264.mp4"
    clip = decode(src, fps=VIDEO_FPS, size=SIZE).data.transpose(0, 2, 3, 1) if src.exists() else None
    truth: dict[str, ActionVideo] = {}
    for i in range(n_videos):
        vid = f"task{i:02d}"
        frames = [_filler(rng, int(rng.integers(8, 120)), clip)]  # 2-30 s
        t = len(frames[0]) / VIDEO_FPS
        segs, cues = [], [(0.2, 2.5, CHATTER[0])]
        for k, (label, _) in enumerate(STEPS):
            if k > 0 and rng.random() < 0.15:
                continue
            n = int(rng.integers(16, 65))  # 4-16 s
            b = np.clip(_wander(photos[label], n, rng).astype(float) * rng.uniform(0.8, 1.2), 0, 255)
            frames.append(b.astype(np.uint8))
            segs.append(Segment(label, t, t + n / VIDEO_FPS))
            if rng.random() < 0.8:
                said = t + rng.normal(1.0, 3.0)
                said = max(0.0, said)
                cues.append((said, said + 2.0, f"Now {label}."))
            t += n / VIDEO_FPS
            gap = _filler(rng, int(rng.integers(8, 121)), clip)  # 2-30 s
            frames.append(gap)
            t += len(gap) / VIDEO_FPS
        cues.append((max(0.0, t - 3), t, CHATTER[1]))
        write_video(folder / f"{vid}.mp4", np.concatenate(frames), VIDEO_FPS)
        write_text(folder / f"{vid}.srt", format_srt(sorted(cues)))
        write_text(folder.parent / "truth" / f"{vid}.srt", format_srt([(s.start, s.end, s.label) for s in segs]))
        truth[vid] = ActionVideo(vid, t, tuple(segs))
    return truth


def _noise_task(task: Path, cache: Path, out: Path, seed: int) -> None:
    """The same narrations with Gaussian-noise features of the same shape (the control)."""
    from wsl.features.files import read_index, update_index, write_features

    rng = np.random.default_rng(seed)
    index = read_index(cache)
    for srt in task.glob("*.srt"):
        write_text(out / srt.name, srt.read_text())
        X = np.load(cache / f"{srt.stem}.npy")
        write_features(out, srt.stem, rng.normal(size=X.shape).astype(np.float32))
        update_index(out, {srt.stem: {"fps": index[srt.stem]["fps"], "duration": index[srt.stem]["duration"]}})


def _frame_truth(v: ActionVideo, n: int) -> list[str]:
    out = []
    for r in range(n):
        t = r / FPS
        out.append(next((s.label for s in v.segments if s.start <= t < s.end), BACKGROUND))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--videos", type=int, default=10)
    ap.add_argument("--work", type=Path, default=Path("/tmp/wsl-bench-real"))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    task, cache = args.work / "task", args.work / "task.features"
    t0 = time.perf_counter()
    if not task.exists():
        make_task(task, args.videos, args.seed)
    truth = read_step_ground_truth(args.work / "truth")
    gen_s = time.perf_counter() - t0
    fig: dict[str, object] = {"videos": len(truth),
                              "video_seconds": round(sum(v.duration for v in truth.values()), 1)}

    def steps_f1(res: wsl.StepsResult) -> dict[str, float]:
        ours = step_f1(res.times(), truth).f1
        narr = step_f1(text_stage_times(res), truth).f1
        uni = step_f1({n: uniform_baseline(res.k, v.duration) for n, v in res.videos.items()}, truth).f1
        return {"f1": round(ours, 3), "narration_f1": round(narr, 3), "uniform_f1": round(uni, 3)}

    t = time.perf_counter()
    got = cached_features(sorted(task.glob("*.mp4")), cache, fps=FPS)
    took = time.perf_counter() - t
    fig["extracted_now"] = len(got.extracted)
    if got.extracted:  # Lite0 at 1 fps, this CPU: video seconds per wall second
        fig["extract_real_time_factor"] = round(fig["video_seconds"] / took, 2)  # type: ignore[operator]
    t = time.perf_counter()
    res = wsl.discover_steps(task, features_cache=cache, fps=FPS, paraphrases=False)
    fig["discover_lite0_pca128"] = {**steps_f1(res), "seconds": round(time.perf_counter() - t, 1), "k": res.k,
                                    "steps": [s.label for s in res.steps],
                                    "converged": (res.solver or {}).get("converged")}
    t = time.perf_counter()
    res32 = wsl.discover_steps(task, features_cache=cache, fps=FPS, paraphrases=False, pca_dim=32)
    fig["discover_lite0_pca32"] = {**steps_f1(res32), "seconds": round(time.perf_counter() - t, 1)}
    noise = args.work / "noise"
    if not noise.exists():
        _noise_task(task, cache, noise, args.seed)
    resn = wsl.discover_steps(noise, paraphrases=False)
    fig["discover_noise_features"] = steps_f1(resn)
    # label-actions with each video's known ordered actions as its transcript
    feats = {v: np.load(cache / f"{v}.npy") for v in truth}
    transcripts = {v: [s.label for s in a.segments] for v, a in truth.items()}
    gold = {v: _frame_truth(a, len(feats[v])) for v, a in truth.items()}
    names = sorted(feats)
    uni = frame_accuracy({v: uniform_frames(transcripts[v], len(feats[v])) for v in names}, gold)
    noise_feats = {v: np.random.default_rng(1).normal(size=(len(feats[v]), 128)) for v in names}
    # straight on the video folder (features from the cache, PCA 128 by default), raw 1280-d, noise
    for name, src, dim in (("lite0_pca128", task, 128), ("lite0_raw1280", task, None), ("noise", noise_feats, None)):
        t = time.perf_counter()
        la = wsl.label_actions(src, transcripts, features_cache=cache, fps=FPS, pca_dim=dim)  # type: ignore[arg-type]
        fig[f"label_actions_{name}"] = {"frame_accuracy": round(frame_accuracy(la.frames, gold), 3),
                                        "seconds": round(time.perf_counter() - t, 1)}
    fig["label_actions_uniform_frame_accuracy"] = round(uni, 3)
    fig["ratio_discover_f1_vs_narration"] = round(
        fig["discover_lite0_pca128"]["f1"] / max(fig["discover_lite0_pca128"]["narration_f1"], 1e-9), 2)  # type: ignore[index]
    fig["ratio_label_actions_vs_uniform"] = round(
        fig["label_actions_lite0_pca128"]["frame_accuracy"] / max(uni, 1e-9), 2)  # type: ignore[index]
    fig["generate_seconds"] = round(gen_s, 1)
    fig["frames"] = int(sum(len(x) for x in feats.values()))
    print(json.dumps(fig))


if __name__ == "__main__":
    sys.exit(main())
