"""Named generator configurations: the KCAPTCHA deployments the shipped solvers read.

Each matches a folder of real images in ../shared/kcaptcha-real-dev/ (`REAL_FOLDERS`),
which `kcsolver.synth.compare` uses to show how close the generator is.
"""

from __future__ import annotations

from .render import CLASSIC_SYMBOLS, DIGITS, FORBIDDEN_PAIRS, STOCK_SYMBOLS, CaptchaConfig

# (width, height, credits, fluctuation, black noise): the public TF.js demo's geometry and the stock 2.0 one.
DEMO_GEOMETRY = (160, 60, 0.0, 5.0, 1 / 20)
STOCK_GEOMETRY = (160, 80, 1.0, 8.0, 1 / 30)
STOCK_ON_160x60 = (160, 60, 0.0, 8.0, 1 / 30)

CONFIGS = {
    # the TF.js demo: 2 digits, black on white, PNG
    "l2_digits": CaptchaConfig(name="l2_digits", charset=DIGITS, lengths=(2,)),
    # forum deployments: 4-6 digits, black on white, PNG
    "digits": CaptchaConfig(name="digits", charset=DIGITS, lengths=(4, 5, 6),
                            geometries=(DEMO_GEOMETRY, STOCK_ON_160x60)),
    # stock 2.x symbols and colours on 160x60 without credits, JPEG q90
    "stock23": CaptchaConfig(name="stock23", charset=STOCK_SYMBOLS, lengths=(5, 6, 7), colors="random",
                             image_format="jpeg", forbidden_pairs=FORBIDDEN_PAIRS,
                             geometries=(DEMO_GEOMETRY, STOCK_ON_160x60)),
    # the true stock 2.0 default: 160x80 plus the credits strip (160x92)
    "stock20": CaptchaConfig(name="stock20", charset=STOCK_SYMBOLS, lengths=(5, 6, 7), colors="random",
                             image_format="jpeg", forbidden_pairs=FORBIDDEN_PAIRS, width=160, height=80,
                             credits=1.0, fluctuation=8.0, black_noise=1 / 30),
    # KCAPTCHA 1.2.6's default: 120x60, credits on by default and often off, no noise, JPEG q90
    "classic": CaptchaConfig(name="classic", generation="1.2.6", charset=CLASSIC_SYMBOLS, lengths=(5, 6),
                             width=120, height=60, credits=0.5, fluctuation=5.0, colors="random",
                             image_format="jpeg", forbidden_pairs=FORBIDDEN_PAIRS),
}

# The real development folder each configuration is compared with (stock20's real files are JPEG stored as PNG).
REAL_FOLDERS = {"l2_digits": "l2_digits_png", "digits": "digits_l4_6_png", "stock23": "stock23_jpg",
                "stock20": "stock20_true_png", "classic": "classic126_jpg"}
REAL_FORMATS = {"stock20": "jpeg-in-png"}


def get_config(name: str) -> CaptchaConfig:
    if name not in CONFIGS:
        raise ValueError(f"unknown captcha config {name!r}; known: {', '.join(CONFIGS)}")
    return CONFIGS[name]
