"""The solver network: a small fully convolutional CTC reader, and its export to a TF.js layers-model.

Input: 48 x 128 x 1 "ink" image (1 = text). Five 3x3 conv blocks with
batch norm and ReLU, pooling to 6 x 32, then a 6 x W conv that collapses
the height, and a per-column classifier over the classes + blank (last) with
softmax: output (32 time steps, classes + 1). The shipped network uses widths
16, 32, 64, 64, 80, a 6 x 3 head with 96 channels and one context convolution
(below; about 43 M multiply-adds, 0.56 MB in float16); `train --widths/
--head-channels/--head-width/--context` change them.
The batch norms fold into the convolutions when kcsolver loads it.

`subframes` > 1 lets the classifier emit that many CTC frames per column (a
dense layer with subframes x (classes + 1) outputs, reshaped to 32 x subframes
frames): two glyphs drawn in the same columns, as KCAPTCHA's packing draws
them, or a doubled symbol then have frames of their own, for about 0.4 M
multiply-adds more. A 1-frame network widens into one exactly (`widen_frames`):
each frame repeated reads the same text, since CTC merges repeats.

`context` > 0 adds that many 1 x 3 convolutions (with bias, ReLU) over the
sequence of column features after the head, so that neighbouring columns can
weigh each other (e.g. two glyphs in the same columns, each claiming its frame),
for about 0.9 M multiply-adds each. They start as the identity (the centre tap
is the identity matrix; the head's features are already >= 0), so `--init` from
a network without them starts exactly where it was.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import KcsolverError
from ..tfjs.writer import KerasSequential, write_layers_model

INPUT_HEIGHT, INPUT_WIDTH = 48, 128
# (out channels, pooling after the block)
BLOCKS = [(16, (2, 2)), (32, (2, 2)), (64, None), (64, (2, 1)), (80, None)]
HEAD_CHANNELS = 96
HEAD_HEIGHT, HEAD_WIDTH = 6, 3


class CaptchaNet(nn.Module):
    def __init__(self, classes: int, widths: tuple | None = None, head_channels: int = HEAD_CHANNELS,
                 head_width: int = HEAD_WIDTH, subframes: int = 1, context: int = 0):
        """`classes`: output classes without the blank; `widths`: output channels of the five 3x3 blocks
        (default BLOCKS'); `head_channels`: features per column; `head_width`: the head's kernel width (odd);
        `subframes`: CTC frames per column; `context`: 1 x 3 convolutions over the columns after the head."""
        super().__init__()
        widths = tuple(widths or (out for out, _pool in BLOCKS))
        if len(widths) != len(BLOCKS):
            raise ValueError(f"CaptchaNet has {len(BLOCKS)} blocks; got widths {widths}")
        if head_width % 2 != 1:
            raise ValueError(f"the head's kernel width must be odd, got {head_width}")
        if subframes < 1:
            raise ValueError(f"subframes must be 1 or more, got {subframes}")
        self.widths, self.head_channels, self.head_width = widths, head_channels, head_width
        self.classes, self.subframes, self.context = classes, subframes, context
        layers, channels = [], 1
        for out, (_default, pool) in zip(widths, BLOCKS):
            layers += [nn.Conv2d(channels, out, 3, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU()]
            if pool:
                layers.append(nn.MaxPool2d(pool))
            channels = out
        layers += [nn.ZeroPad2d((head_width // 2, head_width // 2, 0, 0)),
                   nn.Conv2d(channels, head_channels, (HEAD_HEIGHT, head_width), bias=False),
                   nn.BatchNorm2d(head_channels), nn.ReLU()]
        for _ in range(context):
            mixing = nn.Conv2d(head_channels, head_channels, (1, 3), bias=True)
            with torch.no_grad():  # the identity: each column's features pass unchanged
                mixing.weight.zero_()
                mixing.weight[:, :, 0, 1] = torch.eye(head_channels)
                mixing.bias.zero_()
            layers += [nn.ZeroPad2d((1, 1, 0, 0)), mixing, nn.ReLU()]
        self.features = nn.Sequential(*layers)
        self.dropout = nn.Dropout(0.2)
        self.classifier = nn.Linear(head_channels, subframes * (classes + 1))

    def forward(self, x):  # x: (N, 1, H, W) -> logits (N, T * subframes, K + 1)
        features = self.features(x)  # (N, C, 1, T)
        features = features.squeeze(2).permute(0, 2, 1)
        logits = self.classifier(self.dropout(features))
        return logits.reshape(logits.shape[0], -1, self.classes + 1)


def export(net: CaptchaNet, out_dir, recipe: dict, quantization: str | None = None):
    """Write the trained net as a TF.js layers-model with the recipe in userDefinedMetadata.kcsolver."""
    net = net.eval()
    keras = KerasSequential("kcsolver_ctc", (INPUT_HEIGHT, INPUT_WIDTH, 1))
    modules = list(net.features)
    i = 0
    while i < len(modules):
        module = modules[i]
        if isinstance(module, nn.Conv2d):
            kernel = module.weight.detach().numpy().transpose(2, 3, 1, 0)  # OIHW -> HWIO
            padding = "same" if module.padding == (1, 1) else "valid"
            keras.conv2d(kernel, None if module.bias is None else module.bias.detach().numpy(), padding=padding)
        elif isinstance(module, nn.BatchNorm2d):
            keras.batch_norm(module.weight.detach().numpy(), module.bias.detach().numpy(),
                             module.running_mean.numpy(), module.running_var.numpy(), module.eps)
        elif isinstance(module, nn.ReLU):
            keras.activation("relu")
        elif isinstance(module, nn.MaxPool2d):
            size = module.kernel_size if isinstance(module.kernel_size, tuple) else (module.kernel_size,) * 2
            keras.max_pool(size)
        elif isinstance(module, nn.ZeroPad2d):
            left, right, top, bottom = module.padding
            keras.zero_padding((top, bottom), (left, right))
        else:
            raise TypeError(f"cannot export {type(module).__name__}")
        i += 1
    steps = INPUT_WIDTH // 4
    keras.reshape((steps, net.head_channels))
    kernel, bias = net.classifier.weight.detach().numpy().T, net.classifier.bias.detach().numpy()
    if net.subframes == 1:
        keras.dense(kernel, bias, activation="softmax")
    else:  # each column's outputs are its frames one after another: a row-major reshape puts them in order
        keras.dense(kernel, bias)
        keras.reshape((steps * net.subframes, net.classes + 1))
        keras.activation("softmax")
    return write_layers_model(out_dir, keras.topology(), keras.weights, {"kcsolver": recipe}, quantization)


def import_weights(net: CaptchaNet, model_json) -> CaptchaNet:
    """Load an exported bundle's weights back into the torch net (the inverse of `export`), to fine-tune it."""
    from ..tfjs.loader import load_artifacts

    weights = load_artifacts(model_json).weights
    convs = [m for m in net.features if isinstance(m, nn.Conv2d)]
    norms = [m for m in net.features if isinstance(m, nn.BatchNorm2d)]
    expected = len(convs) + sum(conv.bias is not None for conv in convs) + 4 * len(norms) + 2
    if len(weights) != expected:
        raise ValueError(f"{model_json} holds {len(weights)} weights; a CaptchaNet export holds {expected}")

    def take(name, shape):
        value = torch.from_numpy(np.ascontiguousarray(weights[name], np.float32))
        if tuple(value.shape) != tuple(shape):
            raise ValueError(f"{model_json}: {name} is {tuple(value.shape)}, this net needs {tuple(shape)}")
        return value

    with torch.no_grad():
        for i, conv in enumerate(convs, start=1):
            conv.weight.copy_(take(f"conv2d_{i}/kernel", conv.weight.permute(2, 3, 1, 0).shape).permute(3, 2, 0, 1))
            if conv.bias is not None:
                conv.bias.copy_(take(f"conv2d_{i}/bias", conv.bias.shape))
        for i, norm in enumerate(norms, start=1):
            prefix = f"batch_normalization_{i}/"
            for param, role in ((norm.weight, "gamma"), (norm.bias, "beta"), (norm.running_mean, "moving_mean"),
                                (norm.running_var, "moving_variance")):
                param.copy_(take(prefix + role, param.shape))
        net.classifier.weight.copy_(take("dense_1/kernel", net.classifier.weight.T.shape).T)
        net.classifier.bias.copy_(take("dense_1/bias", net.classifier.bias.shape))
    return net


def load_trained(path, classes: int) -> CaptchaNet:
    """A trained net from a checkpoint.pt or an exported model.json, in the shape it was trained with."""
    try:
        if Path(path).suffix == ".json":
            from ..tfjs.loader import load_artifacts

            shapes = {name: value.shape for name, value in load_artifacts(path).weights.items()}
            convs = sorted((name for name in shapes if name.startswith("conv2d_") and name.endswith("/kernel")),
                           key=lambda name: int(name.split("_")[1].split("/")[0]))
            blocks = len(BLOCKS)  # the 3x3 blocks, then the head, then any context convolutions
            widths = tuple(shapes[name][3] for name in convs[:blocks])
            _head_height, head_width, _inputs, head_channels = shapes[convs[blocks]]
            subframes = max(1, shapes["dense_1/kernel"][1] // (classes + 1))
            context = len(convs) - blocks - 1
            return import_weights(CaptchaNet(classes, widths, head_channels, head_width, subframes, context), path)
        state = torch.load(path, weights_only=False)
        net = CaptchaNet(classes, state.get("widths"), state.get("head_channels", HEAD_CHANNELS),
                         state.get("head_width", HEAD_WIDTH), state.get("subframes", 1), state.get("context", 0))
        net.load_state_dict(state["model"])
        return net
    except Exception as exc:  # torch, pickle and the loader each fail in their own words
        raise KcsolverError(f"{path}: not a trained solver network for {classes} classes (a `kcsolver train` "
                            f"run's checkpoint.pt or its exported model.json): {exc}") from None


def prune_into(net: CaptchaNet, wider: CaptchaNet) -> CaptchaNet:
    """Fill `net` with the weights of a trained `wider` net of the same depth, keeping in each block the
    output channels that matter most (largest batch-norm scale |gamma| / sqrt(var + eps)) and the matching
    input channels of the next block: a narrower network that starts close to the wider one, to fine-tune."""
    def pairs(n: CaptchaNet):  # each conv with the batch norm that follows it
        return [(m, k) for m, k in zip(n.features, list(n.features)[1:])
                if isinstance(m, nn.Conv2d) and isinstance(k, nn.BatchNorm2d)]

    if (net.head_width, net.context, net.subframes) != (wider.head_width, wider.context, wider.subframes) or len(
            pairs(net)) != len(pairs(wider)) or net.context:
        raise ValueError("pruning keeps the depth, the head's kernel width, the frames per column and no context "
                         f"layers (here {wider.head_width}, {wider.subframes}, {wider.context} into "
                         f"{net.head_width}, {net.subframes}, {net.context}); only channel counts may shrink")
    kept_inputs = None
    with torch.no_grad():
        for (conv, norm), (source, source_norm) in zip(pairs(net), pairs(wider)):
            if conv.out_channels > source.out_channels:
                raise ValueError(f"cannot prune {source.out_channels} channels into {conv.out_channels}")
            scale = source_norm.weight.abs() / torch.sqrt(source_norm.running_var + source_norm.eps)
            kept = torch.sort(torch.argsort(scale, descending=True)[:conv.out_channels]).values
            weight = source.weight[kept]
            conv.weight.copy_(weight if kept_inputs is None else weight[:, kept_inputs])
            for name in ("weight", "bias", "running_mean", "running_var"):
                getattr(norm, name).copy_(getattr(source_norm, name)[kept])
            kept_inputs = kept
        net.classifier.weight.copy_(wider.classifier.weight[:, kept_inputs])
        net.classifier.bias.copy_(wider.classifier.bias)
    return net


def widen_frames(net: CaptchaNet, source: CaptchaNet) -> CaptchaNet:
    """Fill `net` with a trained `source` of the same shape but one frame per column: each of its frames
    is repeated `net.subframes` times, which reads exactly the same text (CTC merges repeats), so a
    fine-tune starts where the source is and learns to use the extra frames."""
    if source.subframes != 1 or (source.widths, source.head_channels, source.head_width, source.classes,
                                 source.context) != (net.widths, net.head_channels, net.head_width, net.classes,
                                                     net.context):
        raise ValueError("widening the frames keeps every other dimension, from a network with one frame per "
                         "column")
    with torch.no_grad():
        net.features.load_state_dict(source.features.state_dict())
        net.classifier.weight.copy_(source.classifier.weight.repeat(net.subframes, 1))
        net.classifier.bias.copy_(source.classifier.bias.repeat(net.subframes))
    return net


def add_context(net: CaptchaNet, source: CaptchaNet) -> CaptchaNet:
    """Fill `net` with a trained `source` of the same shape but fewer context convolutions: the shared
    layers are copied, the new context convolutions stay the identity, so `net` reads as `source` does."""
    same = (source.widths, source.head_channels, source.head_width, source.classes, source.subframes) == (
        net.widths, net.head_channels, net.head_width, net.classes, net.subframes)
    if not same or source.context >= net.context:
        raise ValueError("adding context keeps every other dimension, from a network with fewer context layers")
    missing, unexpected = net.load_state_dict(source.state_dict(), strict=False)
    assert not unexpected and all(name.startswith("features.") for name in missing), (missing, unexpected)
    return net


def trained_layout(path) -> tuple[str, tuple]:
    """(charset, generations) of a trained network (checkpoint.pt or exported model.json), from its recipe."""
    try:
        if Path(path).suffix == ".json":
            import json

            recipe = json.loads(Path(path).read_text())["userDefinedMetadata"]["kcsolver"]
        else:
            recipe = torch.load(path, weights_only=False)["recipe"]
        return recipe["charset"], tuple(recipe.get("generations") or ("2.x",))
    except Exception as exc:
        raise KcsolverError(f"{path}: not a trained solver network (no kcsolver recipe tells its output classes: "
                            f"{exc}); give a `kcsolver train` run's checkpoint.pt or exported model.json") from None


def remap_classes(source: CaptchaNet, old: tuple[str, tuple], new: tuple[str, tuple],
                  absent_logit: float | None = None) -> CaptchaNet:
    """The same network with the output classes of another (charset, generations) layout: classes both
    layouts have keep their weights; new ones start from the mean of their generation's trained classes with
    a bias below every trained one (so they start improbable and the reading is unchanged), or, with
    `absent_logit`, with zero weights and that bias (a network that must never emit them, e.g. -30)."""
    (old_charset, old_generations), (new_charset, new_generations) = old, new
    net = CaptchaNet(len(new_charset) * len(new_generations), source.widths, source.head_channels,
                     source.head_width, source.subframes, source.context)
    net.features.load_state_dict(source.features.state_dict())
    frames = source.subframes
    old_weight = source.classifier.weight.detach().reshape(frames, source.classes + 1, -1)
    old_bias = source.classifier.bias.detach().reshape(frames, source.classes + 1)
    weight = torch.zeros(frames, net.classes + 1, old_weight.shape[-1])
    bias = torch.zeros(frames, net.classes + 1)
    weight[:, -1], bias[:, -1] = old_weight[:, -1], old_bias[:, -1]  # the blank stays the blank
    floor = old_bias[:, :-1].min(dim=1).values - 1.0
    for g, generation in enumerate(new_generations):
        g_old = old_generations.index(generation) if generation in old_generations else 0
        rows = slice(g_old * len(old_charset), (g_old + 1) * len(old_charset))
        for k, symbol in enumerate(new_charset):
            target = g * len(new_charset) + k
            if symbol in old_charset and generation in old_generations:
                source_row = g_old * len(old_charset) + old_charset.index(symbol)
                weight[:, target], bias[:, target] = old_weight[:, source_row], old_bias[:, source_row]
            elif absent_logit is not None:
                bias[:, target] = absent_logit
            else:
                weight[:, target] = old_weight[:, rows].mean(dim=1)
                bias[:, target] = floor
    with torch.no_grad():
        net.classifier.weight.copy_(weight.reshape(-1, weight.shape[-1]))
        net.classifier.bias.copy_(bias.reshape(-1))
    return net


def torch_probabilities(net: CaptchaNet, x_nhwc: np.ndarray) -> np.ndarray:
    """Softmax outputs of the torch net for an NHWC batch (for parity checks with the exported model)."""
    with torch.no_grad():
        logits = net.eval()(torch.from_numpy(x_nhwc).permute(0, 3, 1, 2))
        return torch.softmax(logits, dim=-1).numpy()
