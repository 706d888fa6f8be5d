"""discover-steps (Alayrac et al. 2016): narrated videos of one task -> its steps and where they happen.

    import wsl
    result = wsl.discover_steps("task_dir/")        # a StepsResult
    result.steps[0].label, result.videos["vid"].steps[0].time

The method in one place: :mod:`wsl.steps.text` (narration -> relations -> merged steps, per-video
orders), :mod:`wsl.steps.video` (DIFFRAC + Frank-Wolfe placement, :mod:`wsl.solvers.narration`),
:mod:`wsl.steps.pipeline` (the library call and its typed result), :mod:`wsl.steps.evaluation`
(Alayrac's F1 of saved predictions), :mod:`wsl.steps.demo` (a sample task folder).
"""

from wsl.steps.evaluation import evaluate
from wsl.steps.pipeline import FORMAT, StepsResult, discover_steps

__all__ = ["FORMAT", "StepsResult", "discover_steps", "evaluate"]
