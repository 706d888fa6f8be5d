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
                temperature: float = 1.0, offset: int = 0, count: int | None = None,
                group: torch.Tensor | None = None) -> torch.Tensor:
    """MIL-NCE over a batch: ``video`` (N, d), ``text`` (N, P, d) = P candidate narrations per clip.

    For clip i, the positives are its P candidates (``mask`` (N, P) marks the real ones); the negatives
    are every other clip's candidates scored against clip i and clip i's candidates scored against every
    other clip (both directions, one denominator, as in the paper):

        loss_i = logsumexp(positives u negatives) - logsumexp(positives)

    ``group`` (N,) ids (e.g. the source video): clips of one group are not each other's negatives, since
    clips of one video sampled into one batch share narrations. Returns the mean over rows
    ``offset .. offset + count`` (all rows by default).
    """
    n, p, d = text.shape
    if video.shape != (n, d):
        raise ValueError(f"video {tuple(video.shape)} and text {tuple(text.shape)} embeddings do not pair up")
    count = n - offset if count is None else count
    dev = video.device
    rows = torch.arange(offset, offset + count, device=dev)
    v, t = _upcast(video), _upcast(text)
    with torch.autocast(device_type=dev.type, enabled=False):  # keep the similarities in fp32
        # a[i, j, q] = clip (offset + i) . candidate q of clip j
        a = (v[rows] @ t.reshape(n * p, d).T).view(count, n, p) / temperature
        # b[i, j, q] = clip j . candidate q of clip (offset + i); on one process, the transpose of a
        if offset == 0 and count == n:
            b = a.transpose(0, 1)
        else:
            b = (v @ t[rows].reshape(count * p, d).T).view(n, count, p).transpose(0, 1) / temperature
    low = torch.finfo(a.dtype).min  # finite, so fully masked entries give no NaN gradient
    local = torch.arange(count, device=dev)
    itself = rows[:, None] == torch.arange(n, device=dev)[None, :]  # (count, N)
    # Which other clips are negatives: all others, or only those of another group.
    negative = ~itself if group is None else group[rows][:, None] != group[None, :]
    keep_a = (negative | itself)[:, :, None]  # clip i's own bag stays in a (the positives)
    keep_b = negative[:, :, None]  # ... and only there, not twice
    positives = a[local, rows]  # (count, P)
    if mask is not None:
        valid = mask.bool()
        keep_a = keep_a & valid[None, :, :]
        keep_b = keep_b & valid[rows][:, None, :]
        positives = positives.masked_fill(~valid[rows], low)
    lse_a = torch.logsumexp(torch.where(keep_a, a, low).reshape(count, -1), dim=1)
    lse_b = torch.logsumexp(torch.where(keep_b, b, low).reshape(count, -1), dim=1)
    return (torch.logaddexp(lse_a, lse_b) - torch.logsumexp(positives, dim=1)).mean()


def nce_loss(video: torch.Tensor, text: torch.Tensor, temperature: float = 1.0, offset: int = 0,
             count: int | None = None, group: torch.Tensor | None = None) -> torch.Tensor:
    """Single-positive NCE: ``video`` (N, d), ``text`` (N, d), clip i paired with sentence i.

    The negatives of pair i are the other sentences against clip i and the other clips against sentence
    i (one softmax over 2N - 1 terms), which is MIL-NCE with one candidate, written as a cross-entropy.
    """
    n = video.shape[0]
    count = n - offset if count is None else count
    rows = torch.arange(offset, offset + count, device=video.device)
    with torch.autocast(device_type=video.device.type, enabled=False):
        sim = _upcast(video) @ _upcast(text).T / temperature  # (N, N)
    low = torch.finfo(sim.dtype).min
    v2t = sim[rows]  # clip i against every sentence
    t2v = sim[:, rows].T.clone()  # sentence i against every clip
    local = torch.arange(count, device=video.device)
    if group is not None:
        same = group[rows][:, None] == group[None, :]
        same[local, rows] = False
        v2t = v2t.masked_fill(same, low)
        t2v = t2v.masked_fill(same, low)
    t2v[local, rows] = low  # the pair itself is in v2t
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
    import warnings

    from torch.distributed.nn.functional import all_gather

    # torch 2.13 marks this deprecated in favour of private _functional_collectives; this public one has a
    # backward on gloo (all-to-all) and NCCL (reduce-scatter), which the CPU test relies on.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        parts = all_gather(x)
    return torch.cat(parts, dim=0)


def gather_no_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` (masks, ids) from every rank along dim 0, without gradient."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return x
    parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, x.contiguous())
    return torch.cat(parts, dim=0)


def global_milnce_loss(video: torch.Tensor, text: torch.Tensor, mask: torch.Tensor | None = None,
                       temperature: float = 1.0, group: torch.Tensor | None = None) -> torch.Tensor:
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
    all_group = None if group is None else gather_no_grad(group)
    return milnce_loss(all_video, all_text, all_mask, temperature, offset=rank * n, count=n, group=all_group)
