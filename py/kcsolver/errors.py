"""Exceptions with messages that say what is wrong, where, and what to do.

Everything kcsolver refuses on purpose is a KcsolverError; each class also
derives from the builtin exception a caller would otherwise expect, so
`except ValueError` keeps working. docs/errors.md lists them with examples.
"""


class KcsolverError(Exception):
    """Base class of every error kcsolver raises on purpose."""


class ModelFormatError(KcsolverError, ValueError):
    """model.json or a weight shard is malformed, truncated or inconsistent (the message names the JSON
    path or the file)."""


class ModelSourceError(KcsolverError, OSError):
    """A model file could not be read at all: no such file, an HTTP error, no network."""


class IntegrityError(KcsolverError, ValueError):
    """A model file's sha256 differs from the digest it should have (a stale, damaged or tampered file)."""


class UnsupportedOpError(KcsolverError, NotImplementedError):
    """The model uses an op or layer class that no kernel implements (raised at load time)."""


class InputError(KcsolverError, ValueError):
    """An image, pixel buffer, input array or request has the wrong type, shape, size or content."""


class ResourceLimitError(KcsolverError, ValueError):
    """A file declares sizes beyond kcsolver.limits.Limits (checked before anything is allocated)."""


class RecipeError(KcsolverError, ValueError):
    """A kcsolver recipe (userDefinedMetadata.kcsolver or kcsolver.json) is incomplete or inconsistent."""
