"""kcsolver: read KCAPTCHA images with TF.js-format models run on NumPy.

Public API (see docs/ and the architecture doc):
    load_model(source, backend="numpy") -> Model     any TF.js model.json
    Solver.load(name_or_path).solve(image) -> Result  a captcha solver bundle
"""

__version__ = "0.1.0"
