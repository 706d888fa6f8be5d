"""A weight-free descriptor for machines with no pretrained model: appearance (HOG + colour) and motion (HOF).

Per sampled frame: a 4x4-cell histogram of oriented gradients (9 unsigned bins), a hue x saturation
histogram plus a brightness histogram, and a 2x2-cell histogram of optical flow (8 directions + a
no-motion bin) between the sampled frame and the frame just before it at the native rate. Each block
is L1-normalised and square-rooted (Hellinger), so Euclidean distances between vectors are meaningful
for the linear classifiers the convex solvers fit. No torch.
"""

from __future__ import annotations

import numpy as np

HOG_GRID, HOG_BINS = 4, 9
HUE_BINS, SAT_BINS, VAL_BINS = 8, 4, 8
HOF_GRID, HOF_BINS = 2, 9  # 8 directions + "still"
WORK_SIZE = 160  # shorter side the descriptor is computed at; fixes the cost per frame
STILL = 0.5  # flow magnitude (pixels at WORK_SIZE) below which a pixel counts as still

BLOCKS = {
    "hog": HOG_GRID * HOG_GRID * HOG_BINS,
    "color": HUE_BINS * SAT_BINS + VAL_BINS,
    "hof": HOF_GRID * HOF_GRID * HOF_BINS,
}
DIM = sum(BLOCKS.values())


def _hellinger(h: np.ndarray) -> np.ndarray:
    h = np.asarray(h, dtype=np.float64)
    s = h.sum()
    return np.sqrt(h / s) if s > 0 else h


def _cell_histograms(values: np.ndarray, weights: np.ndarray, bins: int, grid: int) -> np.ndarray:
    """Weighted histograms of integer bin ``values`` (H, W) over a grid x grid layout of cells."""
    h, w = values.shape
    rows = np.minimum(np.arange(h) * grid // h, grid - 1)
    cols = np.minimum(np.arange(w) * grid // w, grid - 1)
    cell = rows[:, None] * grid + cols[None, :]
    flat = (cell * bins + values).ravel()
    hist = np.bincount(flat, weights=weights.ravel(), minlength=grid * grid * bins)
    return hist.reshape(grid * grid, bins)


def hog(gray: np.ndarray) -> np.ndarray:
    """Histogram of oriented gradients of a float32 grey image, per cell normalised."""
    import cv2

    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=1)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=1)
    mag, ang = cv2.cartToPolar(gx, gy)
    unsigned = np.mod(ang, np.pi)
    b = np.minimum((unsigned / np.pi * HOG_BINS).astype(np.int64), HOG_BINS - 1)
    cells = _cell_histograms(b, mag, HOG_BINS, HOG_GRID)
    # Per-cell normalisation keeps a bright region from drowning the others (as in Dalal-Triggs blocks).
    cells = cells / (np.linalg.norm(cells, axis=1, keepdims=True) + 1e-6)
    return np.sqrt(cells.ravel() / cells.sum()) if cells.sum() > 0 else cells.ravel()


def color(rgb: np.ndarray) -> np.ndarray:
    """Hue x saturation histogram and brightness histogram of an RGB uint8 image."""
    import cv2

    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)  # H in [0, 180), S and V in [0, 256)
    hue = np.minimum(hsv[..., 0].astype(np.int64) * HUE_BINS // 180, HUE_BINS - 1)
    sat = hsv[..., 1].astype(np.int64) * SAT_BINS // 256
    val = hsv[..., 2].astype(np.int64) * VAL_BINS // 256
    hs = np.bincount((hue * SAT_BINS + sat).ravel(), minlength=HUE_BINS * SAT_BINS)
    v = np.bincount(val.ravel(), minlength=VAL_BINS)
    return np.concatenate([_hellinger(hs), _hellinger(v)])


def hof(prev_gray: np.ndarray | None, gray: np.ndarray) -> np.ndarray:
    """Histogram of optical flow (Farneback) from ``prev_gray`` to ``gray``; zeros without a previous frame."""
    if prev_gray is None:
        out = np.zeros((HOF_GRID * HOF_GRID, HOF_BINS))
        out[:, -1] = 1.0  # no previous frame: everything is still
        return _hellinger(out.ravel())
    import cv2

    flow = cv2.calcOpticalFlowFarneback(prev_gray, gray, None, 0.5, 3, 15, 3, 5, 1.2, 0)  # type: ignore[call-overload]
    mag, ang = cv2.cartToPolar(flow[..., 0], flow[..., 1])
    direction = np.minimum((ang / (2 * np.pi) * (HOF_BINS - 1)).astype(np.int64), HOF_BINS - 2)
    b = np.where(mag < STILL, HOF_BINS - 1, direction)
    w = np.where(mag < STILL, 1.0, mag)
    return _hellinger(_cell_histograms(b, w, HOF_BINS, HOF_GRID).ravel())


def to_gray(rgb: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def describe(rgb: np.ndarray, prev_gray: np.ndarray | None) -> np.ndarray:
    """The classic descriptor (``DIM`` floats) of one RGB frame, given the grey frame before it."""
    gray = to_gray(rgb)
    return np.concatenate([hog(gray.astype(np.float32)), color(rgb), hof(prev_gray, gray)]).astype(np.float32)
