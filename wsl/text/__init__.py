"""Screenplay and subtitle parsing, token normalisation, word alignment, NLP. No torch."""
