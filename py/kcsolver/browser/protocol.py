"""The worker's requests: the registry of handlers, dispatch, and checked access to a request's payload.

`handle(type, payload)` is what site/worker.js calls for every page request; handlers register with
`@handler(name)` (browser/worker.py) and receive a `Request`.
"""

from __future__ import annotations

import traceback

from ..errors import InputError
from . import ffi

_HANDLERS = {}


def handler(name):
    def register(fn):
        _HANDLERS[name] = fn
        return fn

    return register


async def handle(kind: str, payload):
    """Run the handler for `kind`; return a JS object (or raise)."""
    fn = _HANDLERS.get(kind) if isinstance(kind, str) else None
    if fn is None:
        raise InputError(f"unknown request type {kind!r}; known: {', '.join(sorted(_HANDLERS))}")
    result = await fn(Request(kind, ffi.to_py(payload) if payload is not None else {}))
    return ffi.to_js_object(result)


class Request:
    """A request's payload with checked access: a missing or mistyped field is an InputError naming it."""

    def __init__(self, kind: str, payload):
        if not isinstance(payload, dict):
            raise InputError(f"request {kind!r}: the payload must be an object, got {type(payload).__name__}")
        self.kind, self.payload = kind, payload

    def _bad(self, name, expected, value):
        shown = repr(value) if not hasattr(value, "nbytes") else f"{type(value).__name__} of {value.nbytes} bytes"
        raise InputError(f"request {self.kind!r}: {name!r} must be {expected}, got {shown[:80]}")

    def get(self, name, default=None):
        return self.payload.get(name, default)

    def text(self, name, default=None, required=True) -> str | None:
        value = self.payload.get(name, default)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value or len(value) > 100_000:
            self._bad(name, "a non-empty string", value)
        return value

    def integer(self, value, name, low: int, high: int) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self._bad(name, f"an integer from {low} to {high}", value)
        return value

    def object(self, name, required=True) -> dict | None:
        value = self.payload.get(name)
        if value is None and not required:
            return None
        if not isinstance(value, dict):
            self._bad(name, "an object", value)
        return value

    def shape(self, name) -> list[int]:
        value = self.payload.get(name)
        if not isinstance(value, list) or not 1 <= len(value) <= 8:
            self._bad(name, "a list of 1 to 8 dimensions", value)
        return [self.integer(d, f"{name}[{i}]", 1, 1 << 24) for i, d in enumerate(value)]

    def buffer(self, name, value=None) -> bytes:
        """The bytes of a typed array / ArrayBuffer field."""
        value = self.payload.get(name) if value is None else value
        try:
            return ffi.typed_array_bytes(value)
        except (AttributeError, TypeError):
            self._bad(name, "a typed array or ArrayBuffer", value)

    def model_url(self) -> str:
        return self.text("modelUrl")

    def backend(self) -> str | None:
        return self.text("backend", required=False)


def format_exception(exc: BaseException) -> dict:
    """The error object the page shows: one-line message plus the traceback text."""
    return {
        "message": f"{type(exc).__name__}: {exc}",
        "traceback": "".join(traceback.format_exception(exc)),
    }
