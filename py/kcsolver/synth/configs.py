"""Named generator configurations: the KCAPTCHA deployments the shipped solvers read."""

from __future__ import annotations

from .render import DIGITS, FORBIDDEN_PAIRS, STOCK_SYMBOLS, CaptchaConfig

# (width, height, credits, fluctuation, black noise) of the stock 2.0 geometry and the demo's.
STOCK_GEOMETRY = (160, 80, True, 8.0, 1 / 30)
DEMO_GEOMETRY = (160, 60, False, 5.0, 1 / 20)

CONFIGS = {
    "l2_digits": CaptchaConfig(name="l2_digits", charset=DIGITS, lengths=(2,)),
    "digits": CaptchaConfig(name="digits", charset=DIGITS, lengths=(2, 3, 4, 5, 6),
                            geometries=(DEMO_GEOMETRY, (160, 60, False, 8.0, 1 / 30))),
    "stock23": CaptchaConfig(name="stock23", charset=STOCK_SYMBOLS, lengths=(5, 6, 7), colors="random",
                             image_format="jpeg", forbidden_pairs=FORBIDDEN_PAIRS,
                             geometries=(STOCK_GEOMETRY, DEMO_GEOMETRY, (160, 60, False, 8.0, 1 / 30))),
    "stock20": CaptchaConfig(name="stock20", charset=STOCK_SYMBOLS, lengths=(5, 6, 7), colors="random",
                             image_format="jpeg", forbidden_pairs=FORBIDDEN_PAIRS, width=160, height=80,
                             credits=True, fluctuation=8.0, black_noise=1 / 30),
}


def get_config(name: str) -> CaptchaConfig:
    if name not in CONFIGS:
        raise ValueError(f"unknown captcha config {name!r}; known: {', '.join(CONFIGS)}")
    return CONFIGS[name]
