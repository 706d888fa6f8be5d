"""The CLI's one vocabulary: options that mean the same thing in several commands are defined here once.

Every command builds its shared options from these factories, so ``--seed`` or ``--lambda`` reads
and behaves the same everywhere (a test walks every command's help to check it). An option with a
fixed set of values is annotated ``Literal[...]``, so its help lists them (``--format <json|csv>``).
"""

from __future__ import annotations

from typing import Any

import typer


def output(help: str, default: Any = ..., file_okay: bool = True, dir_okay: bool = True) -> Any:
    """``-o/--output``: a file, a folder for many inputs, or ``-`` for stdout (say which in ``help``)."""
    return typer.Option(default, "--output", "-o", help=help, file_okay=file_okay, dir_okay=dir_okay)


def seed(default: int = 0) -> Any:
    return typer.Option(default, "--seed", help="Random seed: the same seed gives the same result.")


def jobs() -> Any:
    return typer.Option(1, "--jobs", "-j", min=1, help="Worker processes for many inputs.")


def skip_existing() -> Any:
    return typer.Option(False, "--skip-existing", help="Skip inputs whose output already exists.")


def shard() -> Any:
    return typer.Option(
        None,
        "--shard",
        metavar="K/N",
        help="Process only shard K of N (1-based) of the sorted inputs, for SLURM arrays or GNU parallel.",
    )


def device() -> Any:
    return typer.Option("auto", "--device", help="Torch device: auto (CUDA when available), cpu, cuda or cuda:N.")


def threads() -> Any:
    return typer.Option(None, "--threads", min=1, help="CPU threads for torch and BLAS (default: torch's choice).")


def epochs(default: int | None) -> Any:
    return typer.Option(default, "--epochs", min=1, help="Training epochs (passes over the training data).")


def lr(default: float) -> Any:
    return typer.Option(default, "--lr", help="Learning rate.")


def batch_size(default: int) -> Any:
    return typer.Option(
        default, "--batch-size", min=1, help="Examples per batch (a training step, or one forward pass at inference)."
    )


def resume() -> Any:
    return typer.Option(False, "--resume", help="Continue the run in the output folder from its last checkpoint.")


def lam(default: float) -> Any:
    return typer.Option(default, "--lambda", min=0.0, help="Ridge regularisation of the discriminative cost.")


def max_iter(default: int) -> Any:
    return typer.Option(default, "--max-iter", min=1, help="Most solver iterations.")


def tol(default: float) -> Any:
    return typer.Option(default, "--tol", min=0.0, help="Stop when the certified relative duality gap is below this.")


def fmt(default: str | None, help: str = "Output format (default: from the output's extension, else json).") -> Any:
    """``--format``; annotate the parameter ``Literal[...]`` with the formats the command writes."""
    return typer.Option(default, "--format", help=help)


def layout() -> Any:
    """``--layout``; annotate ``Literal["Td", "dT"]``."""
    return typer.Option("Td", "--layout", help="Feature file layout: Td (frames x dims) or dT (MS-TCN/Breakfast).")


def fps(default: float | None, help: str = "Frames per second of the feature files.") -> Any:
    return typer.Option(default, "--fps", min=0.0, help=help)


def backbone() -> Any:
    """``--backbone`` for commands that take videos; annotate ``Literal["lite0", "lite1", "lite2", "classic"]``."""
    return typer.Option("lite0", "--backbone", help="Feature extractor for videos without a feature file.")


def features_cache() -> Any:
    return typer.Option(None, "--features-cache", help="Folder where features extracted from videos are kept and "
                        "reused (default: OUTPUT's name with .features, or the user cache when writing to stdout).")


def pca_dim() -> Any:
    return typer.Option(128, "--pca-dim", min=0, help="Reduce wider features to this many principal components "
                        "before the solver (0: never).")


def cache_beside(output: str) -> Any:
    """The default feature cache: beside the output file (None for stdout: the library's user cache)."""
    from wsl.features.cache import default_cache_dir

    return None if output == "-" else default_cache_dir(output, anchor=output)


def parse_shard(value: str | None) -> tuple[int, int] | None:
    """``"2/8"`` -> ``(2, 8)``; None stays None."""
    if value is None:
        return None
    from wsl.errors import BadInput

    try:
        k, n = (int(x) for x in value.split("/"))
    except ValueError:
        raise BadInput(f"`shard` must look like K/N (for example 3/8), got {value!r}", param="shard") from None
    if not 1 <= k <= n:
        raise BadInput(f"`shard` K/N needs 1 <= K <= N, got {value!r}", param="shard")
    return k, n


