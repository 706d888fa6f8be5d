"""MIL-NCE's output files, embedding indexes, and searching them: exact (NumPy) or approximate (faiss, extra ``ann``).

An index is ``NAME.npy`` ((N, D) float32 unit vectors) beside ``NAME.json`` (what each row is, and the
fingerprint of the model that made them); an approximate index adds ``NAME.faiss``. No torch here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wsl.errors import BadInput

WEIGHTS = "model.safetensors"  # in a run folder: the kept weights (best on held-out videos, else the last)
INDEX_FORMAT = "wsl-milnce-index"
INDEX_VERSION = 1


@dataclass
class EmbeddingIndex:
    """Vectors (N, D) and per-row items (clips: video, start, end; sentences: id, text) plus metadata."""

    vectors: np.ndarray
    items: list[dict[str, Any]]
    meta: dict[str, Any]
    path: Path | None = None

    @property
    def model_id(self) -> str | None:
        return self.meta.get("model_id")


def index_paths(path: str | os.PathLike[str]) -> tuple[Path, Path, Path]:
    """(vectors .npy, metadata .json, faiss) paths of the index named ``path`` (with or without .npy)."""
    p = Path(path)
    base = p.with_suffix("") if p.suffix in (".npy", ".json", ".faiss") else p
    return base.with_suffix(".npy"), base.with_suffix(".json"), base.with_suffix(".faiss")


def save_index(path: str | os.PathLike[str], vectors: np.ndarray, items: list[dict[str, Any]],
               meta: dict[str, Any]) -> Path:
    """Write the vectors and the metadata atomically (vectors first: the .json marks a complete index)."""
    from wsl.io import save_npy, write_json

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or len(items) != vectors.shape[0]:
        raise ValueError(f"{vectors.shape} vectors for {len(items)} items")
    npy, js, _ = index_paths(path)
    save_npy(npy, vectors)
    write_json(js, {"format": INDEX_FORMAT, "version": INDEX_VERSION, **meta, "count": int(vectors.shape[0]),
                    "dim": int(vectors.shape[1]), "items": items}, indent=None)
    return npy


def load_index(path: str | os.PathLike[str]) -> EmbeddingIndex:
    """Read an index written by ``save_index``, checking that its parts agree."""
    from wsl.io import load_json

    npy, js, _ = index_paths(path)
    if not js.exists():
        raise BadInput(f"not an embedding index: {js.name} is missing (make one with `wsl milnce embed`)", npy)
    meta = load_json(js)
    if not isinstance(meta, dict) or meta.get("format") != INDEX_FORMAT:
        raise BadInput("not a wsl milnce embedding index (format field missing or different)", js)
    if meta.get("version") != INDEX_VERSION:
        raise BadInput(f"index version {meta.get('version')} is not readable here (expected {INDEX_VERSION}); "
                       "re-embed", js)
    try:
        vectors = np.load(npy, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as e:
        raise BadInput(f"cannot read the index vectors ({e})", npy) from None
    items = meta.pop("items", [])
    if vectors.ndim != 2 or vectors.shape[0] != len(items) or vectors.shape[1] != meta.get("dim"):
        raise BadInput(f"vectors {vectors.shape} do not match the metadata ({len(items)} items, dim "
                       f"{meta.get('dim')}): the index is incomplete or mixed up; re-embed", npy)
    return EmbeddingIndex(np.asarray(vectors, dtype=np.float32), items, meta, npy)


def exact_search(vectors: np.ndarray, queries: np.ndarray, k: int, chunk: int = 131072
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` rows of ``vectors`` by inner product for each query: (scores (Q, k), ids (Q, k)), best first.

    Works through ``vectors`` in chunks so memory stays at Q x chunk scores however large the index.
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
    n = vectors.shape[0]
    k = min(k, n)
    best_s = np.full((queries.shape[0], 0), -np.inf, dtype=np.float32)
    best_i = np.zeros((queries.shape[0], 0), dtype=np.int64)
    for lo in range(0, n, chunk):
        s = queries @ vectors[lo: lo + chunk].T
        kk = min(k, s.shape[1])
        part = np.argpartition(-s, kk - 1, axis=1)[:, :kk]
        cand_s = np.concatenate([best_s, np.take_along_axis(s, part, axis=1)], axis=1)
        cand_i = np.concatenate([best_i, part + lo], axis=1)
        # Keep the k best; among equal scores the lower id first, so results are deterministic.
        order = np.lexsort((cand_i, -cand_s), axis=1)[:, :k]
        best_s = np.take_along_axis(cand_s, order, axis=1)
        best_i = np.take_along_axis(cand_i, order, axis=1)
    return best_s, best_i


def _faiss() -> Any:
    try:
        import faiss
    except ImportError:
        from wsl.errors import MissingExtra

        raise MissingExtra("approximate search (faiss)", "ann") from None
    return faiss


def build_ann(vectors: np.ndarray, method: str = "ivf", nlist: int | None = None, seed: int = 0) -> Any:
    """A faiss inner-product index over ``vectors``: ``ivf`` (inverted lists, k-means trained on a sample)
    or ``hnsw`` (graph; slower to build, no training)."""
    faiss = _faiss()
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, d = vectors.shape
    if method == "hnsw":
        index = faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT)
        index.add(vectors)
        return index
    if method != "ivf":
        raise BadInput(f"unknown approximate index {method!r} (`ann`): use ivf or hnsw", param="ann")
    nlist = nlist or max(1, min(int(4 * np.sqrt(n)), n // 39))  # faiss wants >= 39 training points per list
    quantizer = faiss.IndexFlatIP(d)
    index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(seed)
    sample = vectors[np.sort(rng.choice(n, size=min(n, 64 * nlist), replace=False))]
    index.cp.seed = seed
    index.train(sample)
    index.add(vectors)
    return index


def ann_search(index: Any, queries: np.ndarray, k: int, nprobe: int = 32, ef: int = 128
               ) -> tuple[np.ndarray, np.ndarray]:
    """Search a faiss index: (scores (Q, k), ids (Q, k)); ids of -1 (too few results) are dropped by callers."""
    if hasattr(index, "nprobe"):
        index.nprobe = nprobe
    if hasattr(index, "hnsw"):
        index.hnsw.efSearch = max(ef, k)
    scores, ids = index.search(np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32), k)
    return scores, ids


def save_ann(index: Any, path: str | os.PathLike[str]) -> Path:
    from wsl.io import atomic_open

    faiss = _faiss()
    _, _, fp = index_paths(path)
    with atomic_open(fp, "wb") as f:
        f.write(faiss.serialize_index(index).tobytes())
    return fp


def load_ann(path: str | os.PathLike[str]) -> Any | None:
    """The index's faiss file, or None when there is none."""
    _, _, fp = index_paths(path)
    if not fp.exists():
        return None
    faiss = _faiss()
    try:
        return faiss.deserialize_index(np.fromfile(fp, dtype=np.uint8))
    except RuntimeError as e:
        raise BadInput(f"cannot read the faiss index ({str(e).splitlines()[0]})", fp) from None
