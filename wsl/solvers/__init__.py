"""Convex machinery on NumPy/SciPy: DIFFRAC, Frank-Wolfe, linear oracles, rounding. No torch."""
