"""Machine learning on bars: features, walk-forward training, a model registry, patterns.

Everything here works without a daemon: the ml service serves it over the bus, the
CLI runs it in-process when the service is down, and tests call it directly.
"""
