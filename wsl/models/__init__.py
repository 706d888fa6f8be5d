"""Torch models built on wsl.features, and the shared training loop."""
