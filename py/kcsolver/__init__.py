"""kcsolver: read KCAPTCHA images with TF.js-format models run on NumPy.

Public API (see the README and docs/):
    load_model(source, backend="numpy") -> Model     any TF.js model.json
    Solver.load(name_or_path).solve(image) -> Result  a captcha solver bundle

Names are imported lazily so that `kcsolver.browser` can be used (and tested)
on a Pyodide without NumPy, and so that start-up only pays for what it uses.
"""

__version__ = "0.1.0"

_EXPORTS = {
    "load_model": "model", "load_model_async": "model", "Model": "model",
    "Solver": "captcha", "Result": "captcha",
    "KcsolverError": "errors", "ModelFormatError": "errors", "ModelSourceError": "errors", "IntegrityError": "errors",
    "UnsupportedOpError": "errors", "InputError": "errors", "ResourceLimitError": "errors", "RecipeError": "errors",
    "Limits": "limits",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'kcsolver' has no attribute {name!r}")
