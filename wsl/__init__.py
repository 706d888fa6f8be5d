"""wsl: weakly supervised learning from video and text."""

__version__ = "0.1.0"
