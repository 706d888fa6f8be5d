"""Contrastive video-text losses: MIL-NCE (Miech et al. 2020) and its single-positive NCE baseline.

Both take the embeddings of a whole (global) batch and score the rows ``offset .. offset + count`` of
it, so that one code path serves one process (all rows) and DDP (each rank scores its own rows against
the gathered global batch; the mean of the ranks' losses is the single-process loss on that batch).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _upcast(x: torch.Tensor) -> torch.Tensor:
    """float32 at least (bf16/fp16 under autocast lack the range for logsumexp over thousands of terms)."""
    return x if x.dtype == torch.float64 else x.float()


def milnce_loss(video: torch.Tensor, text: torch.Tensor, mask: torch.Tensor | None = None,
                temperature: float = 1.0, offset: int = 0, count: int | None = None) -> torch.Tensor:
    """MIL-NCE over a batch: ``video`` (N, d), ``text`` (N, P, d) = P candidate narrations per clip.

    For clip i, the positives are its P candidates (``mask`` (N, P) marks the real ones); the negatives
    are every other clip's candidates scored against clip i and clip i's candidates scored against every
    other clip (both directions, one denominator, as in the paper):

        loss_i = logsumexp(positives u negatives) - logsumexp(positives)

    Returns the mean over rows ``offset .. offset + count`` (all rows by default).
    """
    n, p, d = text.shape
    if video.shape != (n, d):
        raise ValueError(f"video {tuple(video.shape)} and text {tuple(text.shape)} embeddings do not pair up")
    count = n - offset if count is None else count
    rows = torch.arange(offset, offset + count, device=video.device)
    v, t = _upcast(video), _upcast(text)
    valid = torch.ones(n, p, dtype=torch.bool, device=video.device) if mask is None else mask.bool()
    neg_inf = torch.finfo(v.dtype).min  # finite, so a fully masked block gives no NaN gradient
    # a[i, j, q] = clip (offset + i) . candidate q of clip j
    with torch.autocast(device_type=video.device.type, enabled=False):  # keep the similarities in fp32
        a = torch.einsum("id,jqd->ijq", v[rows], t) / temperature
        # b[i, j, q] = clip j . candidate q of clip (offset + i)
        b = torch.einsum("jd,iqd->ijq", v, t[rows]) / temperature
    a = a.masked_fill(~valid[None, :, :], neg_inf)
    b = b.masked_fill(~valid[rows][:, None, :], neg_inf)
    local = torch.arange(count, device=video.device)
    positives = a[local, rows]  # (count, P)
    # The positive block appears in both a and b: keep it once, in a.
    b[local, rows] = neg_inf
    denominator = torch.logsumexp(torch.cat([a.reshape(count, -1), b.reshape(count, -1)], dim=1), dim=1)
    numerator = torch.logsumexp(positives, dim=1)
    return (denominator - numerator).mean()


def nce_loss(video: torch.Tensor, text: torch.Tensor, temperature: float = 1.0, offset: int = 0,
             count: int | None = None) -> torch.Tensor:
    """Single-positive NCE: ``video`` (N, d), ``text`` (N, d), clip i paired with sentence i.

    The negatives of pair i are the other sentences against clip i and the other clips against sentence
    i (one softmax over 2N - 1 terms), which is MIL-NCE with one candidate, written as a cross-entropy.
    """
    n = video.shape[0]
    count = n - offset if count is None else count
    rows = torch.arange(offset, offset + count, device=video.device)
    with torch.autocast(device_type=video.device.type, enabled=False):
        sim = _upcast(video) @ _upcast(text).T / temperature  # (N, N)
    v2t = sim[rows]  # clip i against every sentence
    t2v = sim[:, rows].T.clone()  # sentence i against every clip
    t2v[torch.arange(count, device=video.device), rows] = torch.finfo(sim.dtype).min  # the pair is in v2t
    logits = torch.cat([v2t, t2v], dim=1)
    return F.cross_entropy(logits, rows)


def gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` from every rank along dim 0, keeping the gradient path to every rank's input.

    ``torch.distributed.nn.functional.all_gather`` sends each rank's share of the gradient back to
    the rank that produced it, so every clip's negatives can be the whole global batch. All ranks must
    pass tensors of the same shape (the training loop drops the last partial batch).
    """
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return x
    from torch.distributed.nn.functional import all_gather

    return torch.cat(all_gather(x), dim=0)


def gather_no_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` (masks, ids) from every rank along dim 0, without gradient."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return x
    parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, x.contiguous())
    return torch.cat(parts, dim=0)


def global_milnce_loss(video: torch.Tensor, text: torch.Tensor, mask: torch.Tensor | None = None,
                       temperature: float = 1.0) -> torch.Tensor:
    """MIL-NCE of this rank's clips against the global batch gathered from every rank.

    Under DDP (which averages gradients over ranks) the resulting update is that of the single-process
    loss on the global batch; on one process it is just ``milnce_loss``.
    """
    import torch.distributed as dist

    n = video.shape[0]
    rank = dist.get_rank() if dist.is_available() and dist.is_initialized() else 0
    all_video = gather_with_grad(video)
    all_text = gather_with_grad(text)
    all_mask = None if mask is None else gather_no_grad(mask)
    return milnce_loss(all_video, all_text, all_mask, temperature, offset=rank * n, count=n)
