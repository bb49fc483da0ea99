"""Exceptions with messages that say what is wrong and what to do."""


class KcsolverError(Exception):
    """Base class of every error kcsolver raises on purpose."""


class ModelFormatError(KcsolverError, ValueError):
    """model.json or a weight shard is malformed, truncated or inconsistent."""


class UnsupportedOpError(KcsolverError, NotImplementedError):
    """The model uses an op or layer class that no kernel implements (raised at load time)."""


class InputError(KcsolverError, ValueError):
    """The input given to predict/solve has the wrong shape, type or size."""
