"""Where one training step of a network goes: a table of time by part, forward and backward.

The network (default: the base model's, ``datasets/base/network.toml``) steps on batches of
real training lines of similar width (default: batches of 4 drawn from the train splits of the
four shared line sets, each read at its own scale, as the base recipe reads them), augmented as
in training. Each part runs as its own piece of the graph, its input cut off and its output's
gradient fed back in, so forward and backward are timed part by part; the table's parts add up
to the whole step, which is also timed end to end (the same batches, one graph). The parts that
are mostly products get their GFLOP/s (multiply-adds count 2; a backward pass with input
gradients does twice its forward's), beside one thread's peak on a large matrix product. Run it
on an otherwise idle machine: ``--threads`` is the only work it does.

    python bench/profile_training_step.py                    # the base network, batch 4, 1 thread
    python bench/profile_training_step.py --steps 40 --batch-size 8
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from hwr.allocator import retain_freed_memory
from hwr.convolution import convolution_stage, shrink
from hwr.data.alphabet import Alphabet
from hwr.data.augmentation import augment
from hwr.data.batching import collate, width_batches
from hwr.data.images import normalize_line
from hwr.data.readers import LineImages, read_lines
from hwr.engine.config import RunConfig, read_config_file
from hwr.engine.trainer import make_optimizer
from hwr.mdlstm import compiled
from hwr.mdlstm.scan import scan
from hwr.mdlstm.wavefront import WavefrontKernel
from hwr.model_file import Model
from hwr.network import MDLSTMNetwork, to_blocks
from hwr.threads import configure_threads

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared/datasets"
SETS = {"joseph_hooker_htr": 0.74, "copiste_dun_jour": None, "cremma_mss19": None, "testaments_de_poilus": None}
"""Each line set and the scale the base recipe reads it at (None: the network config's)."""


def batches_of_lines(config: RunConfig, count: int, batch_size: int, seed: int) -> tuple[list, list[str]]:
    """``count`` batches of (uint8 image, text) of similar width from the four sets' train lines."""
    rng = np.random.default_rng(seed)
    read = LineImages()
    lines = []
    for name, scale in SETS.items():
        manifest = SHARED / name / "lines.tsv"
        if not manifest.is_file():
            sys.exit(f"error: {manifest}: not found (the shared line sets belong beside the checkout)")
        train = read_lines(manifest, split="train").lines
        preprocessing = config.preprocessing if scale is None else replace(config.preprocessing, scale=scale)
        for k in rng.choice(len(train), count * batch_size // len(SETS) + 1, replace=False):
            lines.append((normalize_line(read(train[k]), preprocessing), train[k].text))
    widths = [image.shape[1] for image, _ in lines]
    batches = width_batches(widths, batch_size, rng)[:count]
    return [[lines[k] for k in batch] for batch in batches], [text for _, text in lines]


class Timer:
    """Seconds spent per part and pass (``forward``, ``backward`` or ``""``), and floating-point
    operations of the parts that are mostly products (multiply-adds count 2), summed over the steps."""

    def __init__(self) -> None:
        self.seconds: dict[tuple[str, str], float] = defaultdict(float)
        self.flops: dict[tuple[str, str], float] = defaultdict(float)

    def run(self, part: str, work: Callable[[], object], way: str = "") -> object:
        start = time.perf_counter()
        result = work()
        self.seconds[part, way] += time.perf_counter() - start
        return result


def cut(x: torch.Tensor) -> torch.Tensor:
    return x.detach().requires_grad_(True)


def profiled_step(network: MDLSTMNetwork, images, sizes, targets, target_lengths, timer: Timer) -> torch.Tensor:
    """One step, part by part (the same computation as ``network(images, sizes)`` then CTC)."""
    config = network.config
    pieces = []  # (part, input, output) of each piece, for the backward pass

    def piece(
        part: str, x: torch.Tensor, work: Callable[[torch.Tensor], torch.Tensor], flops: float = 0
    ) -> torch.Tensor:
        """``work(x)``, timed; ``flops``: its forward's (the backward, with input gradients, twice that)."""
        x = cut(x) if x.is_floating_point() and pieces else x
        y = timer.run(part, lambda: work(x), "forward")
        timer.flops[part, "forward"] += flops
        timer.flops[part, "backward"] += 2 * flops if x.requires_grad else flops
        pieces.append((part, x, y))
        return y

    x = images.unsqueeze(1)
    for level, (conv, pool) in enumerate(zip(network.convs, config.conv_pools), start=1):
        stage = lambda x, conv=conv, pool=pool, sizes=sizes: convolution_stage(x, sizes, conv, pool)[0]
        flops = 2 * x.shape[0] * x.shape[2] * x.shape[3] * conv.out_channels * conv.in_channels * 9
        x = piece(f"convolution {level} (+mask, pool, ReLU)", x, stage, flops)
        sizes = shrink(sizes, pool)
    x = piece("input blocks", x, lambda x: to_blocks(x.permute(0, 2, 3, 1).contiguous(), sizes, config.input_block)[0])
    sizes = shrink(sizes, config.input_block)
    for level, mdlstm in enumerate(network.mdlstm):
        b, h, w, _ = x.shape
        n = mdlstm.hidden_size

        def project(x, m=mdlstm, shape=(b, h, w, 4, 5 * n)):
            weight = m.weight_ih.transpose(0, 1).reshape(m.input_size, -1)
            return torch.addmm(m.bias.reshape(-1), x.reshape(-1, m.input_size), weight).view(shape)

        x = piece(f"MDLSTM {level + 1} input projection", x, project, 2 * b * h * w * mdlstm.input_size * 20 * n)
        kernel = compiled.kernel() or WavefrontKernel()  # as the layer picks on the CPU
        x = piece(
            f"MDLSTM {level + 1} scans",
            x,
            lambda z, m=mdlstm, sizes=sizes: scan(z, m.weight_hh, m.peephole, sizes, kernel).view(b, h, w, 4 * n),
            2 * b * h * w * 4 * 2 * n * 5 * n,  # the recurrent products: (2N x 5N) per position and direction
        )
        x = piece(f"MDLSTM {level + 1} dropout", x, network.dropout[level])
        if level < len(network.subsample):
            block, linear = config.subsample_blocks[level], network.subsample[level]
            x = piece(
                f"subsampling {level + 1} (blocks, linear, tanh)",
                x,
                lambda x, s=linear, sizes=sizes, block=block: torch.tanh(s(to_blocks(x, sizes, block)[0])),
                2 * x.numel() * linear.out_features,
            )
            sizes = shrink(sizes, block)
    lengths = sizes[:, 1]
    x = piece("collapse and layer norm", x, lambda x: network.sequence_norm(x.sum(dim=1).transpose(0, 1)))
    for layer, lstm in enumerate(network.sequence):
        t, b, i = x.shape
        hidden = lstm.forward_lstm.hidden_size
        flops = 2 * 2 * t * b * 4 * hidden * (i + hidden)  # two directions
        x = piece(f"BLSTM {layer + 1}", x, lambda x, lstm=lstm: lstm(network.sequence_dropout(x), lengths), flops)
    x = piece(
        "output layer, log-softmax",
        x,
        lambda x: F.log_softmax(network.output(network.sequence_dropout(x)), -1),
        2 * x.numel() * network.output.out_features,
    )
    loss = piece(
        "CTC",
        x,
        lambda x: F.ctc_loss(x, targets, lengths, target_lengths, blank=0, reduction="sum", zero_infinity=True),
    )
    grad = torch.ones_like(loss)
    for part, x, y in reversed(pieces):
        timer.run(part, lambda: y.backward(grad), "backward")
        grad = x.grad if x.requires_grad else None
    return loss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=ROOT / "datasets/base/network.toml")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    retain_freed_memory()  # as the command line does
    configure_threads(args.threads)
    torch.manual_seed(args.seed)
    config = RunConfig.from_dict(read_config_file(args.config))
    batches, texts = batches_of_lines(config, args.warmup + args.steps, args.batch_size, args.seed)
    alphabet = Alphabet.from_texts(texts)
    network = MDLSTMNetwork(config.network_config(len(alphabet)))
    network.train()
    optimizer = make_optimizer(Model(network, alphabet, config.preprocessing), config.training)
    augmentation = config.training.augmentation
    rng = np.random.default_rng(args.seed)
    timers = {"parts": Timer(), "whole": Timer()}
    for step, batch in enumerate(batches):
        for way, timer in timers.items():
            if step < args.warmup:
                timer = Timer()

            def data(batch=batch):
                tensor, sizes = collate([augment(image, augmentation, rng) for image, _ in batch])
                labels = [alphabet.encode(text) for _, text in batch]
                targets = torch.tensor([k for label in labels for k in label], dtype=torch.long)
                return tensor, sizes, targets, torch.tensor([len(label) for label in labels])

            tensor, sizes, targets, target_lengths = timer.run("augmentation and batching", data)
            optimizer.zero_grad(set_to_none=True)
            if way == "parts":
                profiled_step(network, tensor, sizes, targets, target_lengths, timer)
                optimizer.zero_grad(set_to_none=True)  # the parts' gradients were only timed
            else:

                def step_whole(tensor=tensor, sizes=sizes, targets=targets, target_lengths=target_lengths):
                    log_probs, lengths = network(tensor, sizes)
                    loss = F.ctc_loss(log_probs, targets, lengths, target_lengths, reduction="sum", zero_infinity=True)
                    loss.backward()

                timer.run("forward and backward", step_whole)
                timer.run(
                    "optimizer (clip, AdamW)",
                    lambda: (torch.nn.utils.clip_grad_norm_(network.parameters(), 5.0, foreach=True), optimizer.step()),
                )
    report(timers["parts"], timers["whole"], args, network, batches)
    peak = matrix_product_peak()
    print(f"\nOne thread's matrix-product peak here (a 2048 x 2048 float32 product): {peak:.0f} GFLOP/s")


def report(parts: Timer, whole: Timer, args: argparse.Namespace, network: MDLSTMNetwork, batches: list) -> None:
    """The table of parts, in the network's order, and the whole step."""
    parts.seconds["optimizer (clip, AdamW)", ""] = whole.seconds["optimizer (clip, AdamW)", ""]
    total = sum(parts.seconds.values())
    shape = np.mean([[max(im.shape[0] for im, _ in b), max(im.shape[1] for im, _ in b)] for b in batches], axis=0)
    name = args.config.relative_to(ROOT) if args.config.is_relative_to(ROOT) else args.config
    print(
        f"{name}: {sum(p.numel() for p in network.parameters()):,} weights; batch {args.batch_size}, {args.steps} "
        f"steps, mean batch {shape[0]:.0f} x {shape[1]:.0f} px; {args.threads} thread(s)\n"
    )
    print("| part | forward ms | backward ms | share of the step | GFLOP/s forward, backward |")
    print("| --- | ---: | ---: | ---: | ---: |")
    names = list(dict.fromkeys(part for part, _ in parts.seconds))
    for part in names:
        ms = {way: 1000 * parts.seconds.get((part, way), 0.0) / args.steps for way in ("forward", "backward", "")}
        share = 100 * sum(parts.seconds.get((part, way), 0.0) for way in ("forward", "backward", "")) / total
        rates = [
            f"{parts.flops[part, way] / parts.seconds[part, way] / 1e9:.0f}"
            for way in ("forward", "backward")
            if parts.flops.get((part, way))
        ]
        forward, backward = (f"{ms['forward']:.1f}", f"{ms['backward']:.1f}") if not ms[""] else (f"{ms['']:.1f}", "")
        print(f"| {part} | {forward} | {backward} | {share:.1f}% | {', '.join(rates)} |")
    print(f"| **sum of the parts** | | | {1000 * total / args.steps:.1f} ms | |")
    data = whole.seconds["augmentation and batching", ""] / args.steps
    step = sum(whole.seconds.values()) / args.steps - data
    print(
        f"\nThe whole step, one graph: {1000 * step:.1f} ms of network and optimizer ({args.batch_size / step:.1f} "
        f"lines/s), and {1000 * data:.1f} ms of augmentation and batching, which training does beside it"
    )


def matrix_product_peak() -> float:
    """GFLOP/s of one large float32 matrix product: about the most one thread does here."""
    a, b = torch.rand(2048, 2048), torch.rand(2048, 2048)
    a @ b
    start = time.perf_counter()
    for _ in range(5):
        a @ b
    return 5 * 2 * 2048**3 / (time.perf_counter() - start) / 1e9


if __name__ == "__main__":
    main()
