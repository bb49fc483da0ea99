"""Test helpers: the static server (from kcsolver.devserver), CSP-safe polling, the shipped specialists."""

import json
from pathlib import Path

from kcsolver.devserver import StaticServer

__all__ = ["StaticServer", "shipped_specialists", "wait_until"]

MODELS = Path(__file__).resolve().parent.parent / "site" / "models"


def shipped_specialists() -> dict[str, str]:
    """preset -> the folder (under site/models/) of its specialist network, as the shipped bundle names them."""
    recipe = json.loads((MODELS / "kcaptcha" / "model.json").read_text())["userDefinedMetadata"]["kcsolver"]
    return {name: entry["network"].split("/")[-2] for name, entry in recipe["presets"].items() if entry.get("network")}


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
