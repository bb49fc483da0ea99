"""The training loop: fresh synthetic captchas every step, CTC loss, checkpoints, resume, export.

    python -m kcsolver train --config kcaptcha [--steps N] [--out runs/kcaptcha]

`--config` names a training mixture (`kcaptcha`: every shipped configuration,
train/mixture.py) or one generator configuration. Seeded and resumable:
`runs/<name>/checkpoint.pt` holds the model, the optimiser, the schedule and
the step; running the same command again goes on from there. Data comes from
worker processes so rendering overlaps training.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..captcha import Recipe, preprocess
from ..captcha.decode import collapse
from . import net as netlib
from .mixture import Mixture, get_mixture


def recipe_for(mixture: Mixture, text_stretch: float | None = None) -> dict:
    """The bundle recipe: the network's classes (charset per generation) and one preset per solver.
    `text_stretch`: the input is the text cropped and widened this much (docs/solvers.md), not the whole
    canvas stretched to the width."""
    recipe = {"charset": mixture.charset, "generations": list(mixture.generations),
              "decoding": {"type": "ctc", "blank": "last"},
              "input": {"height": netlib.INPUT_HEIGHT, "width": netlib.INPUT_WIDTH, "channels": 1, "color": "ink"},
              "crop_credits": True, "crop_text_rows": True, "presets": mixture.presets}
    if text_stretch:
        recipe["text_stretch"] = text_stretch
    return recipe


def load_source(init: Path, mixture: Mixture) -> netlib.CaptchaNet:
    """The network to fine-tune from, with its output classes laid out as the mixture's (a network of the
    29-symbol bundle grows the 36-symbol general reader's classes: netlib.remap_classes)."""
    layout = netlib.trained_layout(init)
    source = netlib.load_trained(init, len(layout[0]) * len(layout[1]))
    if layout != (mixture.charset, tuple(mixture.generations)):
        source = netlib.remap_classes(source, layout, (mixture.charset, tuple(mixture.generations)))
    return source


def make_batch(mixture: Mixture, recipe: Recipe, rng: np.random.Generator, n: int):
    """n fresh images as model inputs, with their (label, generation index)."""
    images, labels = [], []
    for _ in range(n):
        image, label, generation = mixture.sample(rng)
        images.append(preprocess(image, recipe))
        labels.append((label, generation))
    return np.stack(images), labels


class Batches(torch.utils.data.IterableDataset):
    """An endless stream of freshly rendered, preprocessed batches."""

    def __init__(self, mixture: Mixture, recipe: Recipe, batch_size: int, seed: int):
        self.mixture, self.recipe, self.batch_size, self.seed = mixture, recipe, batch_size, seed

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        rng = np.random.default_rng([self.seed, info.id if info else 0])
        while True:
            x, labels = make_batch(self.mixture, self.recipe, rng, self.batch_size)
            yield torch.from_numpy(x).permute(0, 3, 1, 2), labels


def encode_labels(labels, mixture: Mixture):
    """CTC targets (concatenated) and their lengths; an empty label is an image without text."""
    targets = torch.tensor([k for label, generation in labels for k in mixture.targets(label, generation)],
                           dtype=torch.long)
    lengths = torch.tensor([len(label) for label, _ in labels], dtype=torch.long)
    return targets, lengths


def batch_loss(per_image: torch.Tensor, hard_share: float = 0.0) -> torch.Tensor:
    """The batch's mean loss, plus (hard-example mining) the `hard_share` highest losses counted again."""
    hard = int(round(hard_share * len(per_image)))
    extra = per_image.topk(hard).values.sum() / len(per_image) if hard else 0.0
    return per_image.mean() + extra


def free_accuracy(model, x, labels, mixture: Mixture) -> float:
    """Share of images whose free reading (best path over all classes) gives the label in its generation."""
    probs = netlib.torch_probabilities(model, x)
    names = [f"{c}@{g}" for g in range(len(mixture.generations)) for c in mixture.charset]
    hits = 0
    for p, (label, generation) in zip(probs, labels):
        _text, chars = collapse(p.argmax(axis=1), p, names)
        hits += [c for c, _ in chars] == [f"{c}@{generation}" for c in label]
    return hits / len(labels)


def train(config_name: str, out: Path, steps: int = 6000, batch_size: int = 48, lr: float = 3e-3, seed: int = 0,
          workers: int = 1, threads: int | None = None, quantization: str | None = "float16", log=print,
          checkpoint_every: int = 250, stop_at: int | None = None, init: Path | None = None,
          widths: tuple | None = None, head_channels: int = netlib.HEAD_CHANNELS,
          head_width: int = netlib.HEAD_WIDTH, teacher: Path | None = None,
          mix: dict | None = None, text_stretch: float | None = None, hard_share: float = 0.0,
          subframes: int | None = None, context: int | None = None,
          mixture: Mixture | None = None) -> Path | None:
    """Train (or resume) a network; export it when all steps are done. `stop_at` pauses at a step.
    `teacher`: a trained network (checkpoint.pt or model.json) whose per-column distributions the new one
    also learns to match (distillation: how a narrower network is made from a wider one).
    `mix`: new weights for some parts of the mixture (configuration name -> weight).
    `text_stretch`: train on text-cropped inputs (the recipe's text_stretch); a resumed run keeps its own.
    `hard_share`: the images with the highest loss, this share of each batch, count twice in the loss
    (hard-example mining: the rare misreads get more of the gradient).
    `subframes`: CTC frames per column (net.py); `init` from a network with one widens into it.
    `context`: 1 x 3 convolutions over the columns after the head (net.py); `init` from a network with fewer
    starts them as the identity. Both default to the `init` network's own (else 1 and 0).
    `mixture`: train on this mixture instead of the one `config_name` names (`kcsolver adapt`)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    # The data workers take a core each; more training threads than the cores left only contend.
    torch.set_num_threads(threads or max(1, (os.cpu_count() or 2) - workers))
    checkpoint = out / "checkpoint.pt"
    if checkpoint.exists():  # a resumed run keeps the shape and the input it was started with
        saved = torch.load(checkpoint, weights_only=False)
        widths, head_channels = saved.get("widths", widths), saved.get("head_channels", head_channels)
        head_width, subframes = saved.get("head_width", head_width), saved.get("subframes", 1)
        context = saved.get("context", 0)
        init = None  # the checkpoint holds the weights now
        text_stretch = saved.get("recipe", {}).get("text_stretch")
    mixture = mixture or get_mixture(config_name, mix)
    recipe_dict = recipe_for(mixture, text_stretch)
    recipe = Recipe.from_dict(recipe_dict)
    classes = len(mixture.charset) * len(mixture.generations)
    source = load_source(init, mixture) if init is not None else None  # fine-tuning another run
    if subframes is None:
        subframes = source.subframes if source else 1
    if context is None:
        context = source.context if source else 0
    model = netlib.CaptchaNet(classes, widths, head_channels, head_width, subframes, context)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps, pct_start=0.15)
    ctc = nn.CTCLoss(blank=classes, zero_infinity=True, reduction="none")
    step = 0
    if source is not None:  # fine-tuning: start from another run's weights
        if (source.widths, source.head_channels, source.subframes, source.context) == (
                model.widths, model.head_channels, model.subframes, model.context):
            model.load_state_dict(source.state_dict())
            log(f"starting from the weights in {init}")
        elif source.context < model.context:
            netlib.add_context(model, source)
            log(f"starting from the weights in {init}, with {model.context - source.context} context "
                "convolution(s) added as the identity")
        elif source.subframes != model.subframes:
            netlib.widen_frames(model, source)
            log(f"starting from the weights in {init}, each frame repeated {model.subframes} times")
        else:  # a narrower network: keep the wider one's most important channels
            netlib.prune_into(model, source)
            log(f"starting from the weights in {init}, pruned from {source.widths} + {source.head_channels} "
                f"to {model.widths} + {model.head_channels}")
    if checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        if state["steps"] != steps or state["config"] != config_name or state.get("mix") != mix:
            raise ValueError(f"{checkpoint} is from another run ({state['config']}, {state['steps']} steps, "
                             f"mix {state.get('mix')}); delete it or pass the same --steps and --mix")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        step = state["step"]
        log(f"resuming {config_name} from step {step}/{steps}")
    guide = netlib.load_trained(teacher, classes).eval() if teacher is not None else None
    val_x, val_labels = make_batch(mixture, recipe, np.random.default_rng([seed, 99991]), 512)
    loader = torch.utils.data.DataLoader(Batches(mixture, recipe, batch_size, seed * 1000 + step), batch_size=None,
                                         num_workers=workers, persistent_workers=workers > 0, prefetch_factor=4 if workers else None)
    started, seen = time.time(), 0
    model.train()
    for x, labels in loader:
        if step >= steps or (stop_at is not None and step >= stop_at):
            break
        targets, lengths = encode_labels(labels, mixture)
        logits = model(x)
        log_probs = logits.log_softmax(-1).permute(1, 0, 2)
        input_lengths = torch.full((x.shape[0],), log_probs.shape[0], dtype=torch.long)
        per_image = ctc(log_probs, targets, input_lengths, lengths) / lengths.clamp(min=1)  # as reduction="mean"
        loss = batch_loss(per_image, hard_share)
        if guide is not None:  # KL(teacher || student) per column, averaged over columns and images
            with torch.no_grad():
                guide_log_probs = guide(x).log_softmax(-1).permute(1, 0, 2)
            loss = loss + (guide_log_probs.exp() * (guide_log_probs - log_probs)).sum(-1).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        schedule.step()
        step += 1
        seen += x.shape[0]
        if step % 25 == 0 or step == steps:
            rate = seen / (time.time() - started)
            eta = (steps - step) * x.shape[0] / max(rate, 1e-6)
            bar = "#" * int(30 * step / steps)
            log(f"[{bar:<30}] step {step}/{steps} loss {loss.item():.4f} lr {schedule.get_last_lr()[0]:.2e} "
                f"{rate:.0f} img/s eta {eta / 60:.1f} min")
        if step % checkpoint_every == 0 or step == steps or step == stop_at:
            accuracy = free_accuracy(model, val_x, val_labels, mixture)
            model.train()
            log(f"step {step}: synthetic validation accuracy {accuracy:.4f}")
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                        "schedule": schedule.state_dict(), "step": step, "steps": steps, "config": config_name, "mix": mix,
                        "recipe": recipe_dict, "widths": model.widths, "head_channels": model.head_channels,
                        "head_width": model.head_width, "subframes": model.subframes,
                        "context": model.context},
                       checkpoint)
    if step < steps:
        log(f"paused at step {step}/{steps}; run the same command again to resume")
        return None
    path = netlib.export(model, out / "model", recipe_dict, quantization)
    log(f"exported {path}")
    return path


def parse_mix(text: str) -> dict:
    """'classic=0.5,digits=0.1' -> {'classic': 0.5, 'digits': 0.1}."""
    import argparse

    try:
        return {name.strip(): float(weight) for name, weight in (part.split("=") for part in text.split(","))}
    except ValueError:
        raise argparse.ArgumentTypeError(f"--mix takes NAME=WEIGHT pairs separated by commas, got {text!r}") from None


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="kcsolver train", description="train a solver on fresh synthetic captchas")
    parser.add_argument("--config", required=True,
                        help="training mixture (kcaptcha: every shipped configuration) or one generator config")
    parser.add_argument("--out", type=Path, help="run folder (default runs/CONFIG)")
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--batch-size", type=int, default=48)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--quantization", default="float16", choices=["none", "float16", "uint8"])
    parser.add_argument("--widths", help="channels of the five conv blocks, e.g. 16,32,64,64,80 (the default)")
    parser.add_argument("--head-channels", type=int, default=netlib.HEAD_CHANNELS, help="features per column")
    parser.add_argument("--head-width", type=int, default=netlib.HEAD_WIDTH, help="the head's kernel width (odd)")
    parser.add_argument("--init", type=Path, help="start from these weights (fine-tuning): a checkpoint.pt or an exported model.json")
    parser.add_argument("--teacher", type=Path,
                        help="a trained network to distil from (checkpoint.pt or model.json), e.g. with --init and "
                             "narrower --widths")
    parser.add_argument("--mix", type=parse_mix, help="new shares for parts of the mixture, e.g. classic=0.5 "
                        "(the others keep theirs; all are renormalised)")
    parser.add_argument("--hard-share", type=float, default=0.0,
                        help="this share of each batch, the images with the highest loss, counts twice (e.g. 0.25)")
    parser.add_argument("--subframes", type=int,
                        help="CTC frames per column (e.g. 2: glyphs that share columns get frames of their own); "
                             "--init from a network with one frame per column widens it (default: --init's, or 1)")
    parser.add_argument("--context", type=int,
                        help="1 x 3 convolutions over the columns after the head (neighbouring columns weigh each "
                             "other); --init from a network with fewer starts them as the identity (default: "
                             "--init's, or 0)")
    parser.add_argument("--text-stretch", type=float,
                        help="inputs are the text cropped, scaled by height and widened this much (e.g. 1.4; capped "
                             "at the input width) instead of the whole canvas stretched to it: more CTC frames per "
                             "character")
    args = parser.parse_args(argv)

    def log(message):
        print(message, flush=True, file=sys.stderr)

    train(args.config, args.out or Path("runs") / args.config, args.steps, args.batch_size, args.lr, args.seed,
          args.workers, quantization=None if args.quantization == "none" else args.quantization, log=log,
          init=args.init, widths=tuple(int(v) for v in args.widths.split(",")) if args.widths else None,
          head_channels=args.head_channels, head_width=args.head_width, teacher=args.teacher, mix=args.mix,
          text_stretch=args.text_stretch, hard_share=args.hard_share, subframes=args.subframes,
          context=args.context)
    return 0
