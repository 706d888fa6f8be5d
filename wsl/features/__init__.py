"""The common feature-extraction layer: video decoding, backbones, classical descriptors, feature files.

Submodules that need torch import it themselves; importing this package does not.
"""
