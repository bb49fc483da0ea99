"""Training the shipped solvers with PyTorch (optional `train` extra) and exporting them as TF.js bundles.

    python -m kcsolver train --config l2_digits [--steps N] [--out runs/l2_digits]
"""
