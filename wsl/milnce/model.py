"""The MIL-NCE dual encoder (Miech et al. 2020): a video encoder and a text encoder whose dot product says
whether a clip shows what a sentence says, trained from narrated video with the MIL-NCE loss.

Video side: the feature layer's ``ClipEncoder`` end-to-end on frames, or an MLP over precomputed
clip features (HowTo100M-style ``.npy`` files). Text side: the paper's word model (embeddings ->
linear + ReLU -> max-pool over words -> linear) with a vocabulary built from the training captions,
or the frozen pretrained all-MiniLM-L6-v2 (optional extra ``text-encoder``) with a trained projection.
Both embeddings are L2-normalised; the loss divides their dot product by a fixed temperature.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from wsl.errors import BadInput

KIND = "milnce"
MINILM_DIM = 384


@dataclass(frozen=True)
class MilNceConfig:
    """What it takes to rebuild a model: stored in the run folder's config.json.

    Frozen: training fills in what it learns from the data (feature dimension, fps, vocabulary) on a
    copy (``dataclasses.replace``), never on the caller's object.
    """

    video: str = "features"  # features (MLP over .npy rows) or frames (ClipEncoder on decoded frames)
    feature_dim: int = 0  # input dimension of the features path
    fps: float = 0.0  # feature rows per second (features path; from index.json)
    clip_seconds: float = 3.2
    clip_steps: int = 8  # feature rows or frames per clip
    frame_size: int = 64  # frames path: square frames of this side
    trunk: str = "tiny"
    video_hidden: int = 512
    video_pool: str = "mean"  # features path: mean or max over the clip's rows
    text: str = "words"  # words (own vocabulary) or minilm (frozen pretrained sentence encoder)
    vocab: tuple[str, ...] = field(default_factory=tuple)
    max_words: int = 16
    word_dim: int = 300
    text_hidden: int = 512  # the paper: 2048 (4x the CPU cost of the text side, no gain on the benchmark set)
    embed_dim: int = 256  # the paper: 512
    candidates: int = 4
    temperature: float = 0.05

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MilNceConfig:
        known = {f.name for f in fields(cls)}
        kept = {k: v for k, v in d.items() if k in known}
        kept.setdefault("video_pool", "max")  # run folders written before the option existed
        if "vocab" in kept:
            kept["vocab"] = tuple(kept["vocab"])
        return cls(**kept)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v) for f in fields(self)}


# --- encoders ------------------------------------------------------------------------------------------------------

class FeatureVideoEncoder(nn.Module):
    """(B, K, d) rows of precomputed features -> (B, D): per-row linear + ReLU, pooled over rows, linear.

    ``pool="mean"`` averages the rows (per-row noise shrinks with the clip's length); ``"max"`` keeps
    the strongest response (the paper's choice for frame models; runs of wsl < 0.3 used it).
    """

    def __init__(self, in_dim: int, hidden: int, out_dim: int, pool: str = "mean"):
        super().__init__()
        self.norm = nn.LayerNorm(in_dim)  # features come at any scale (HOG, S3D, ...)
        self.row = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(inplace=True))
        self.out = nn.Linear(hidden, out_dim)
        self.pool = pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.row(self.norm(x))
        return self.out(h.mean(dim=1) if self.pool == "mean" else h.amax(dim=1))


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
    """A fresh dual encoder; its initial weights come from torch's global generator (seed it first)."""
    if cfg.video == "features":
        if cfg.feature_dim <= 0:
            raise BadInput("the features video encoder needs the feature dimension", param="feature_dim")
        video: nn.Module = FeatureVideoEncoder(cfg.feature_dim, cfg.video_hidden, cfg.embed_dim, cfg.video_pool)
    elif cfg.video == "frames":
        video = FrameVideoEncoder(cfg.trunk, cfg.embed_dim)
    else:
        raise BadInput(f"unknown video encoder {cfg.video!r} (`video`): use features or frames", param="video")
    if cfg.text == "words":
        if len(cfg.vocab) < 2:
            raise BadInput("the word text encoder needs a non-empty vocabulary", param="vocab")
        text: nn.Module = WordTextEncoder(len(cfg.vocab), cfg.word_dim, cfg.text_hidden, cfg.embed_dim)
    elif cfg.text == "minilm":
        text = ProjectedSentenceEncoder(cfg.embed_dim)
    else:
        raise BadInput(f"unknown text encoder {cfg.text!r} (`text`): use words or minilm", param="text")
    return DualEncoder(video, text)


def model_fingerprint(model: nn.Module) -> str:
    """A short hash of the weights: an embedding index records it, so search can refuse another model's index."""
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def check_config(cfg: MilNceConfig) -> None:
    """Refuse settings no model can train with, naming the parameter."""
    for name in ("candidates", "clip_seconds", "clip_steps", "embed_dim", "temperature", "max_words"):
        value = getattr(cfg, name)
        if not value > 0:
            raise BadInput(f"`{name}` must be positive, got {value}", param=name)
    if cfg.video not in ("features", "frames"):
        raise BadInput(f"unknown video encoder {cfg.video!r} (`video`): use features or frames", param="video")
    if cfg.text not in ("words", "minilm"):
        raise BadInput(f"unknown text encoder {cfg.text!r} (`text`): use words or minilm", param="text")
    if cfg.video_pool not in ("mean", "max"):
        raise BadInput(f"unknown pooling {cfg.video_pool!r} (`video_pool`): use mean or max", param="video_pool")
