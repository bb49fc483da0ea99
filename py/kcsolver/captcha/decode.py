"""From network outputs to text: CTC best path (optionally length-constrained), fixed-length chunks,
and the *fit* of a constrained reading.

A CTC network may emit its symbols once per drawing style (its classes are the
charset repeated per KCAPTCHA generation, blank last). A solver reads with the
classes of its own alphabet and generation only (`restrict`); the free reading
uses every class, summed over generations (`marginal`). The fit of a solver's
reading is the probability of its best path divided by that of the free best
path: about 1 when the captcha is one the solver can represent, tiny when the
text needs symbols, lengths or a drawing style the solver does not have.

`sequence_log_probabilities` is CTC's sum over all alignments of a text; `one_more_glyph`
compares a reading with every reading that has one glyph more (what a dropped thin glyph
leaves behind).
"""

from __future__ import annotations

import numpy as np


def collapse(path, probs: np.ndarray, charset: str) -> tuple[str, list]:
    """A CTC path (class per frame, blank = len(charset)) -> text and [(char, probability)]."""
    blank = len(charset)
    text, chars, previous = "", [], blank
    for t, k in enumerate(path):
        k = int(k)
        if k != blank and k != previous:
            text += charset[k]
            chars.append([charset[k], float(probs[t, k])])
        elif k != blank and k == previous:
            chars[-1][1] = max(chars[-1][1], float(probs[t, k]))
        previous = k
    return text, [tuple(c) for c in chars]


def best_path(probs: np.ndarray, lengths=()) -> np.ndarray:
    """The most probable CTC path; with `lengths`, the most probable one that collapses to an allowed length."""
    path = probs.argmax(axis=1)
    if lengths:
        blank = probs.shape[1] - 1
        emitted = int(np.count_nonzero((path != blank) & np.concatenate([[True], path[1:] != path[:-1]])))
        if emitted not in lengths:
            constrained = _best_path_with_length(probs, blank, lengths)
            if constrained is not None:
                path = np.asarray(constrained)
    return path


def path_log_probability(probs: np.ndarray, path) -> float:
    return float(np.log(np.maximum(probs[np.arange(len(path)), path], 1e-30)).sum())


def sequence_log_probabilities(probs: np.ndarray, labels: list) -> np.ndarray:
    """log P(label | frames) of each label (a list of class indices, blank = the last class), summed over
    every CTC alignment: the forward recursion, all labels at once, rescaled per frame."""
    frames, blank = probs.shape[0], probs.shape[1] - 1
    width = 2 * max(len(label) for label in labels) + 1  # blank, symbol, blank, ..., symbol, blank
    states = np.full((len(labels), width), blank)
    may_skip = np.zeros((len(labels), width), bool)  # the blank between two different symbols is optional
    last = np.empty(len(labels), int)
    for row, label in enumerate(labels):
        states[row, 1:2 * len(label):2] = label
        if len(label) > 1:
            may_skip[row, 3:2 * len(label):2] = np.asarray(label[1:]) != np.asarray(label[:-1])
        last[row] = 2 * len(label)
    emitted = probs[:, states]  # frames x labels x states
    alpha = np.zeros((len(labels), width))
    alpha[:, :2] = emitted[0, :, :2]
    alpha[last == 0, 1] = 0.0
    log_scale = np.zeros(len(labels))
    for t in range(1, frames):
        step = alpha.copy()
        step[:, 1:] += alpha[:, :-1]
        step[:, 2:] += np.where(may_skip[:, 2:], alpha[:, :-2], 0.0)
        alpha = step * emitted[t]
        total = np.maximum(alpha.sum(axis=1), 1e-300)
        alpha /= total[:, None]
        log_scale += np.log(total)
    rows = np.arange(len(labels))
    end = alpha[rows, last] + np.where(last > 0, alpha[rows, np.maximum(last - 1, 0)], 0.0)
    return log_scale + np.log(np.maximum(end, 1e-300))


def one_more_glyph(probs: np.ndarray, text: str, alphabet: str) -> float:
    """P(any reading with one more glyph of `alphabet`, anywhere) / P(text), over all CTC alignments.
    A thin glyph (`1`, `l`, `i`) squeezed between its neighbours, or a doubled symbol merged into one, is
    often dropped by the best path with every remaining glyph sure, yet keeps probability mass of its
    own spread over frames: this ratio is that mass. Symbols no frame gives 1e-4 are left out (their
    readings add nothing measurable)."""
    indices = [alphabet.index(c) for c in text]
    present = np.flatnonzero(probs[:, :-1].max(axis=0) >= 1e-4)
    labels = [indices] + [indices[:i] + [int(c)] + indices[i:] for i in range(len(indices) + 1) for c in present]
    if len(labels) == 1:
        return 0.0
    log_p = sequence_log_probabilities(probs, labels)
    return float(np.exp(np.logaddexp.reduce(log_p[1:]) - log_p[0]))


def decode_ctc(probs: np.ndarray, charset: str, lengths=()) -> tuple[str, list, float]:
    """Best-path CTC decoding of (T, K+1) probabilities, blank last -> (text, chars, confidence).

    If `lengths` is given and the best path has another length, the most probable alignment of an
    allowed length is found by dynamic programming over (time, characters emitted)."""
    text, chars = collapse(best_path(probs, lengths), probs, charset)
    confidence = float(np.prod([p for _, p in chars])) if chars else 0.0
    return text, chars, confidence


def marginal(probs: np.ndarray, groups: int) -> np.ndarray:
    """(T, G*K+1) class probabilities -> (T, K+1): each symbol summed over the G drawing styles."""
    if groups <= 1:
        return probs
    symbols = (probs.shape[1] - 1) // groups
    return np.concatenate([probs[:, :-1].reshape(len(probs), groups, symbols).sum(axis=1), probs[:, -1:]], axis=1)


def restrict(probs: np.ndarray, groups: int, symbol_indices, group_indices) -> np.ndarray:
    """(T, G*K+1) -> (T, len(symbols)+1): only these symbols, summed over these styles; blank last.

    Nothing is renormalised: probability the network put elsewhere stays missing, so a solver asked to
    read something it cannot represent gets low probabilities, not confident substitutes."""
    symbols = (probs.shape[1] - 1) // max(groups, 1)
    columns = np.zeros((len(probs), len(symbol_indices)), probs.dtype)
    for g in group_indices:
        columns += probs[:, [g * symbols + k for k in symbol_indices]]
    return np.concatenate([columns, probs[:, -1:]], axis=1)


def _best_path_with_length(probs, blank, lengths):
    """Viterbi over states (characters emitted n, current frame's class k); small T, small L.

    From (n, k) a frame may stay on k, go to blank, or emit a symbol different from k (n + 1). Each
    frame updates every state at once (NumPy over n and k), with a dozen array operations: in the
    browser's Python each one costs microseconds, and a per-state loop cost more than the network."""
    steps, classes = probs.shape
    logp = np.log(np.maximum(probs, 1e-12))
    target = max(lengths)
    neg = -1e30
    score = np.full((target + 1, classes), neg)  # best log probability of being in state (n, k)
    score[0, blank] = logp[0, blank]
    score[1, :blank] = logp[0, :blank]
    rows = np.arange(target + 1)
    symbols = np.arange(classes)
    # the way into (n, k) other than staying comes from row n - 1 for a symbol, from row n for the blank
    came_from_row = np.where(symbols == blank, rows[:, None], rows[:, None] - 1)
    took_other = np.zeros((steps, target + 1, classes), bool)  # per frame: which states did not stay
    other_k = np.zeros((steps, target + 1, classes), np.int64)   # and the class they came from
    other = np.empty_like(score)
    other[0] = neg
    for t in range(1, steps):
        # each row's best class and its runner-up: a new symbol k comes from the best state of row n - 1
        # whose class is not k, the blank from the best state of row n
        best_k = score.argmax(axis=1)
        best = score[rows, best_k]
        runner = score.copy()
        runner[rows, best_k] = neg
        second_k = runner.argmax(axis=1)
        is_best = symbols == best_k[:-1, None]
        other[1:] = np.where(is_best, runner[rows[:-1], second_k[:-1]][:, None], best[:-1, None])
        other_k[t, 1:] = np.where(is_best, second_k[:-1, None], best_k[:-1, None])
        other[:, blank] = best
        other_k[t, :, blank] = best_k
        took_other[t] = take = other > score  # ties keep the stay move
        score = np.where(take, other, score) + logp[t]
    allowed = [n for n in lengths if n <= target]
    n, k = max(((n, k) for n in allowed for k in range(classes)), key=lambda nk: score[nk])
    if score[n, k] <= neg / 2:
        return None
    path = [k]
    for t in range(steps - 1, 0, -1):
        if took_other[t, n, k]:
            n, k = came_from_row[n, k], other_k[t, n, k]
        path.append(int(k))
    return path[::-1]


def decode_chunks(scores: np.ndarray, charset: str, length: int) -> tuple[str, list, float]:
    """Fixed-length heads: scores (L*K,) or (L, K) -> one character per chunk."""
    table = np.asarray(scores, np.float64).reshape(length, len(charset))
    sums = table.sum(axis=1, keepdims=True)
    probs = table / np.where(sums > 0, sums, 1.0)  # sigmoid heads: normalise per position
    picks = probs.argmax(axis=1)
    chars = [(charset[k], float(probs[i, k])) for i, k in enumerate(picks)]
    return "".join(c for c, _ in chars), chars, float(np.prod([p for _, p in chars]))
