"""The training loop: fresh synthetic captchas every step, CTC loss, checkpoints, resume, export.

Seeded and resumable: `runs/<config>/checkpoint.pt` holds the model, the
optimiser, the schedule and the step; running the same command again goes on
from there. Data comes from a worker process so rendering overlaps training.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..captcha import Recipe, decode_ctc, preprocess
from ..synth import get_config, render, roundtrip
from . import net as netlib


def recipe_for(config, crop_text_rows: bool = False) -> dict:
    return Recipe(charset=config.charset, decoding={"type": "ctc", "blank": "last"},
                  input={"height": netlib.INPUT_HEIGHT, "width": netlib.INPUT_WIDTH, "channels": 1, "color": "ink"},
                  lengths=sorted(config.lengths), crop_credits=True, crop_text_rows=crop_text_rows).to_dict()


def make_batch(config, recipe: Recipe, rng: np.random.Generator, n: int):
    images, labels = [], []
    for _ in range(n):
        image, label, _style = render(config, rng)
        images.append(preprocess(roundtrip(image, config, rng), recipe))
        labels.append(label)
    return np.stack(images), labels


class Batches(torch.utils.data.IterableDataset):
    """An endless stream of freshly rendered, preprocessed batches."""

    def __init__(self, config, recipe: Recipe, batch_size: int, seed: int):
        self.config, self.recipe, self.batch_size, self.seed = config, recipe, batch_size, seed

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        rng = np.random.default_rng([self.seed, info.id if info else 0])
        while True:
            x, labels = make_batch(self.config, self.recipe, rng, self.batch_size)
            yield torch.from_numpy(x).permute(0, 3, 1, 2), labels


def encode_labels(labels, charset):
    index = {c: i for i, c in enumerate(charset)}
    targets = torch.tensor([index[c] for label in labels for c in label], dtype=torch.long)
    lengths = torch.tensor([len(label) for label in labels], dtype=torch.long)
    return targets, lengths


def greedy_accuracy(model, x, labels, recipe: Recipe) -> float:
    probs = netlib.torch_probabilities(model, x)
    hits = sum(decode_ctc(p, recipe.charset, recipe.lengths)[0] == label for p, label in zip(probs, labels))
    return hits / len(labels)


def train(config_name: str, out: Path, steps: int = 6000, batch_size: int = 48, lr: float = 3e-3, seed: int = 0,
          workers: int = 1, threads: int = 2, quantization: str | None = "float16", log=print,
          checkpoint_every: int = 250, stop_at: int | None = None, init: Path | None = None,
          widths: tuple | None = None, head_channels: int = netlib.HEAD_CHANNELS,
          crop_text_rows: bool = False) -> Path | None:
    """Train (or resume) a solver; export it when all steps are done. `stop_at` pauses at a step."""
    config = get_config(config_name).with_overrides(vary=True)
    recipe_dict = recipe_for(config, crop_text_rows)
    recipe = Recipe.from_dict(recipe_dict)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    checkpoint = out / "checkpoint.pt"
    if checkpoint.exists():  # a resumed run keeps the shape it was started with
        saved = torch.load(checkpoint, weights_only=False)
        widths, head_channels = saved.get("widths", widths), saved.get("head_channels", head_channels)
    model = netlib.CaptchaNet(len(config.charset), widths, head_channels)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps, pct_start=0.15)
    ctc = nn.CTCLoss(blank=len(config.charset), zero_infinity=True)
    step = 0
    if init is not None and not checkpoint.exists():  # fine-tuning: start from another run's weights
        if Path(init).suffix == ".json":  # an exported (or shipped) TF.js bundle
            netlib.import_weights(model, init)
        else:
            model.load_state_dict(torch.load(init, weights_only=False)["model"])
        log(f"starting from the weights in {init}")
    if checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        if state["steps"] != steps or state["config"] != config_name:
            raise ValueError(f"{checkpoint} is from another run ({state['config']}, {state['steps']} steps); "
                             "delete it or pass the same --steps")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        step = state["step"]
        log(f"resuming {config_name} from step {step}/{steps}")
    val_x, val_labels = make_batch(get_config(config_name), recipe, np.random.default_rng([seed, 99991]), 384)
    loader = torch.utils.data.DataLoader(Batches(config, recipe, batch_size, seed * 1000 + step), batch_size=None,
                                         num_workers=workers, persistent_workers=workers > 0, prefetch_factor=4 if workers else None)
    started, seen = time.time(), 0
    model.train()
    for x, labels in loader:
        if step >= steps or (stop_at is not None and step >= stop_at):
            break
        targets, lengths = encode_labels(labels, config.charset)
        logits = model(x)
        log_probs = logits.log_softmax(-1).permute(1, 0, 2)
        input_lengths = torch.full((x.shape[0],), log_probs.shape[0], dtype=torch.long)
        loss = ctc(log_probs, targets, input_lengths, lengths)
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
            accuracy = greedy_accuracy(model, val_x, val_labels, recipe)
            model.train()
            log(f"step {step}: synthetic validation accuracy {accuracy:.4f}")
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                        "schedule": schedule.state_dict(), "step": step, "steps": steps, "config": config_name,
                        "recipe": recipe_dict, "widths": model.widths, "head_channels": model.head_channels},
                       checkpoint)
    if step < steps:
        log(f"paused at step {step}/{steps}; run the same command again to resume")
        return None
    path = netlib.export(model, out / "model", recipe_dict, quantization)
    log(f"exported {path}")
    return path


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="kcsolver train", description="train a solver on fresh synthetic captchas")
    parser.add_argument("--config", required=True, help="generator config: l2_digits, digits, stock23")
    parser.add_argument("--out", type=Path, help="run folder (default runs/CONFIG)")
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--batch-size", type=int, default=48)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--quantization", default="float16", choices=["none", "float16", "uint8"])
    parser.add_argument("--widths", help="channels of the five conv blocks, e.g. 16,32,48,64,64 (the default)")
    parser.add_argument("--head-channels", type=int, default=netlib.HEAD_CHANNELS, help="features per column")
    parser.add_argument("--crop-text-rows", action="store_true",
                        help="the solver crops images to their text rows before resizing (recipe crop_text_rows)")
    parser.add_argument("--init", type=Path, help="start from these weights (fine-tuning): a checkpoint.pt or an exported model.json")
    args = parser.parse_args(argv)

    def log(message):
        print(message, flush=True, file=sys.stderr)

    train(args.config, args.out or Path("runs") / args.config, args.steps, args.batch_size, args.lr, args.seed,
          args.workers, quantization=None if args.quantization == "none" else args.quantization, log=log,
          init=args.init, widths=tuple(int(v) for v in args.widths.split(",")) if args.widths else None,
          head_channels=args.head_channels, crop_text_rows=args.crop_text_rows)
    return 0
