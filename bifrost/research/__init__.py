"""Research distribution: sweeps, optimisation, walk-forward and training folds on Dask."""
