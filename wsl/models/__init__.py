"""The shared torch machinery of the method packages: the training loop and the run folder (``training``).

The models themselves live with their methods: ``wsl.localize`` (Oquab et al. 2015) and ``wsl.milnce``
(Miech et al. 2020).
"""
