"""Test helpers: the static server (from kcsolver.devserver) and CSP-safe polling."""

from kcsolver.devserver import StaticServer

__all__ = ["StaticServer", "wait_until"]


def wait_until(page, expression: str, timeout_s: float = 60, interval_ms: int = 100):
    """Poll a JS expression with page.evaluate until it is truthy; returns its value.

    Playwright's wait_for_function evaluates its predicate with eval(), which the
    pages' own Content-Security-Policy rightly blocks; evaluate() is not affected.
    """
    for _ in range(int(timeout_s * 1000 / interval_ms)):
        value = page.evaluate(expression)
        if value:
            return value
        page.wait_for_timeout(interval_ms)
    raise AssertionError(f"timed out after {timeout_s} s waiting for: {expression}")
