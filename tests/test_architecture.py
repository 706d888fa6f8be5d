"""DESIGN.md's direction of imports, read from the source: no circles, no torch where it must not be.

Each module belongs to a part (its first package under ``wsl``; ``errors``, ``io``, ``progress`` and
``parallel`` form the core). A part may import only the parts listed for it; every import counts,
including those inside functions, since a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "wsl"

CORE = {"errors", "io", "progress", "parallel"}

ALLOWED: dict[str, set[str]] = {
    "core": {"core"},
    "text": {"core", "text"},
    "eval": {"core", "eval", "text", "data"},
    "data": {"core", "data", "text", "features"},
    "solvers": {"core", "solvers"},
    "features": {"core", "features"},
    "models": {"core", "data", "features", "models", "eval"},
    "alignment": {"core", "text", "eval", "data", "alignment"},
    "steps": {"core", "text", "data", "solvers", "eval", "features", "steps"},
    "actions": {"core", "data", "solvers", "eval", "features", "actions"},
    "localize": {"core", "data", "features", "models", "eval", "localize"},
    "milnce": {"core", "data", "text", "features", "models", "eval", "milnce"},
}

# Parts that the core install (no torch, OpenCV, PyAV, cvxpy) must be able to import.
LIGHT_PARTS = {"core", "text", "eval", "data", "solvers", "alignment", "steps", "actions", "cli"}
HEAVY = {"torch", "cv2", "av", "cvxpy", "faiss", "sentence_transformers", "efficientnet_lite_pytorch"}


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(name: str) -> bool:
    rel = Path(*name.split("."))
    return (ROOT / rel).with_suffix(".py").is_file() or (ROOT / rel / "__init__.py").is_file()


def _part(module: str) -> str:
    bits = module.split(".")
    if len(bits) == 1 or bits[1] == "__main__":
        return "package"
    return "core" if bits[1] in CORE else bits[1]


def _imports(path: Path) -> list[tuple[str, bool, int]]:
    """(imported module, at module top level, line) for every import in the file."""
    tree = ast.parse(path.read_text(), str(path))
    top = {id(n) for n in tree.body}
    for node in tree.body:  # imports under `if TYPE_CHECKING:` or try/except at top level are top level too
        if isinstance(node, (ast.If, ast.Try)):
            top.update(id(n) for n in ast.walk(node))
    found: list[tuple[str, bool, int]] = []
    here = _module_name(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, id(node) in top, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")[: -node.level + (1 if path.name == "__init__.py" else 0) or None]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod == "wsl" or mod.startswith("wsl."):
                # `from wsl.solvers import oracles` depends on the module wsl.solvers.oracles as well
                found += [(f"{mod}.{a.name}", id(node) in top, node.lineno) for a in node.names
                          if _is_module(f"{mod}.{a.name}")]
            found.append((mod, id(node) in top, node.lineno))
    return found


def _files() -> list[Path]:
    return sorted(p for p in PKG.rglob("*.py"))


def test_parts_import_only_what_design_allows() -> None:
    bad = []
    for path in _files():
        part = _part(_module_name(path))
        if part in ("cli", "package"):
            continue
        allowed = ALLOWED.get(part)
        assert allowed is not None, f"{path}: part {part!r} is not in DESIGN's map (tests/test_architecture.py)"
        for mod, _, line in _imports(path):
            if mod.startswith("wsl.") and _part(mod) not in allowed | {"package"}:
                bad.append(f"{path.relative_to(ROOT)}:{line}: {part} imports {mod}")
    assert not bad, "\n".join(bad)


def test_no_import_circles_between_modules() -> None:
    modules = {_module_name(p): p for p in _files()}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps = set()
        for mod, _, _ in _imports(path):
            while mod and mod not in modules:
                mod = mod.rpartition(".")[0]
            if mod and mod != name and mod != "wsl" and not name.startswith(mod + "."):
                deps.add(mod)
        graph[name] = deps
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                cycles.append(stack[stack.index(m):] + [m])
            elif m not in state:
                visit(m)
        stack.pop()
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n)
    assert not cycles, "import circles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_light_parts_import_no_heavy_library_at_module_level() -> None:
    """Modules of the core install's parts must not pull torch & co. in at import, even transitively."""
    modules = {_module_name(p): p for p in _files()}
    top_deps = {name: [(m, line) for m, top, line in _imports(path) if top] for name, path in modules.items()}
    memo: dict[str, str | None] = {}

    def heavy_via(name: str, seen: frozenset[str] = frozenset()) -> str | None:
        if name in memo:
            return memo[name]
        reason = None
        for mod, _ in top_deps.get(name, []):
            if mod.split(".")[0] in HEAVY:
                reason = mod
            elif mod.startswith("wsl.") and mod in modules and mod not in seen:
                sub = heavy_via(mod, seen | {name})
                if sub:
                    reason = f"{mod} -> {sub}"
            if reason:
                break
        memo[name] = reason
        return reason

    bad = [f"{modules[n].relative_to(ROOT)}: imports {heavy_via(n)} at module level"
           for n in sorted(modules) if _part(n) in LIGHT_PARTS and heavy_via(n)]
    assert not bad, "\n".join(bad)


def test_public_face_is_lazy_and_light_commands_stay_torch_free() -> None:
    code = (
        "import sys, wsl\n"
        "from wsl import align, discover_steps, label_actions, cluster\n"
        "import wsl.cli.align, wsl.cli.cluster, wsl.cli.label_actions, wsl.cli.discover_steps\n"
        f"print(sorted(m for m in {sorted(HEAVY)!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_public_face_lists_what_it_exports() -> None:
    import wsl

    assert sorted(wsl.__all__) == sorted(["__version__", *wsl._EXPORTS])
