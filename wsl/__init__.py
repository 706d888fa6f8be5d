"""wsl: weakly supervised learning from video and text.

Every command of the CLI is one call here (docs/architecture.md maps papers to modules)::

    import wsl
    result = wsl.align("movie.txt", "movie.srt")            # Everingham 2006, Laptev 2008
    steps = wsl.discover_steps("task_dir/")                  # Alayrac 2016
    labels = wsl.label_actions("feats/", "transcripts.json") # Bojanowski 2014
    names = wsl.cluster("tracks.npy", "bags.json")           # Bojanowski 2013
    run = wsl.localize.train("data/train", "runs/loc")       # Oquab 2015
    run = wsl.milnce.train("demo/train", "runs/m")           # Miech 2020
    wsl.features.extract("videos/", "feats/")                # the shared feature layer

Names are imported on first use, so ``import wsl`` stays light and the torch-free commands never
load torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

# public name -> (module, attribute or None for the module itself)
_EXPORTS: dict[str, tuple[str, str | None]] = {
    "align": ("wsl.alignment", "align"),
    "discover_steps": ("wsl.steps", "discover_steps"),
    "label_actions": ("wsl.actions", "label_actions"),
    "cluster": ("wsl.actions", "cluster"),
    "localize": ("wsl.localize", None),
    "milnce": ("wsl.milnce", None),
    "features": ("wsl.features", None),
    "OrderingLabeler": ("wsl.actions", "OrderingLabeler"),
    "BagClusterer": ("wsl.actions", "BagClusterer"),
    "BadInput": ("wsl.errors", "BadInput"),
    "WorkFailed": ("wsl.errors", "WorkFailed"),
}

__all__ = [
    "__version__", "align", "discover_steps", "label_actions", "cluster", "localize", "milnce", "features",
    "OrderingLabeler", "BagClusterer", "BadInput", "WorkFailed",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'wsl' has no attribute {name!r}")
    module_name, attr = _EXPORTS[name]
    module = importlib.import_module(module_name)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # pragma: no cover
    from wsl import features, localize, milnce
    from wsl.actions import BagClusterer, OrderingLabeler, cluster, label_actions
    from wsl.alignment import align
    from wsl.errors import BadInput, WorkFailed
    from wsl.steps import discover_steps
