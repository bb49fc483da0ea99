"""Reading captchas: one job per module.

    images      any image in -> RGB array; KCAPTCHA's crops (credits strip, text rows)
    preprocess  RGB -> the model's input, as the recipe says (pure NumPy)
    decode      network output -> text: CTC best path, length constraints, the fit of a reading
    recipe      the decoding recipe a bundle carries (and its presets), `Result`
    solver      `Solver`: load, read, refuse, choose among presets
"""

from .decode import decode_chunks, decode_ctc
from .images import crop_credits, crop_text_rows, load_image, reframe
from .preprocess import preprocess
from .recipe import Recipe, RecipeError, Result
from .solver import BUILTIN, NO_TEXT, Solver

__all__ = ["BUILTIN", "NO_TEXT", "Recipe", "RecipeError", "Result", "Solver", "crop_credits", "crop_text_rows",
           "decode_chunks", "decode_ctc", "load_image", "preprocess", "reframe"]
