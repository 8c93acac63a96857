"""Speed of a network per MDLSTM backend: forward and forward+backward.

Prints a Markdown table: ms per batch, lines/s, and GFLOP/s achieved, for batch 1
and 16, heights 64 and 128, width 1024. The network is Graves 2009's, or with
``--model`` that of a model file (e.g. the shipped one, with random weights; an
ensemble's members all run, and their FLOPs add up).
FLOPs count the multiply-adds of every matmul and convolution (input projections,
recurrences, subsampling, 1-D LSTMs, output) as 2 each; backward is counted as twice the
forward. Run it with nothing else busy on the machine:

    python bench/bench_mdlstm.py [--threads 1] [--backends wavefront compiled] [--model M]

Like ``hwr``, it tunes malloc to keep freed memory (:mod:`hwr.allocator`);
``--default-malloc`` measures without that.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from hwr.allocator import retain_freed_memory
from hwr.devices import resolve_device
from hwr.ensemble import Ensemble, networks_of
from hwr.model_file import load_model
from hwr.network import MDLSTMNetwork
from hwr.network_config import NetworkConfig, preset
from hwr.threads import configure_threads

NUM_CLASSES = 80


def forward_flops(config: NetworkConfig, height: int, width: int) -> int:
    """Matmul FLOPs of one forward pass over one ``height`` x ``width`` line."""
    flops, h, w, channels = 0, height, width, 1
    for out, (ph, pw) in zip(config.conv_channels, config.conv_pools):
        flops += h * w * 2 * 9 * channels * out
        h, w, channels = -(-h // ph), -(-w // pw), out
    (bh, bw), features = config.input_block, config.input_block[0] * config.input_block[1] * channels
    h, w = -(-h // bh), -(-w // bw)
    for level, hidden in enumerate(config.hidden_sizes):
        gates = 5 * hidden
        flops += h * w * 4 * 2 * (features + 2 * hidden) * gates
        features = 4 * hidden
        if level < len(config.subsample_sizes):
            bh, bw = config.subsample_blocks[level]
            h, w = -(-h // bh), -(-w // bw)
            flops += h * w * 2 * bh * bw * features * config.subsample_sizes[level]
            features = config.subsample_sizes[level]
    for hidden in config.sequence_lstm:  # two directions, four gates
        flops += w * 2 * 2 * (features + hidden) * 4 * hidden
        features = 2 * hidden
    return flops + w * 2 * features * (config.num_classes + 1)


def time_call(fn, min_seconds: float, min_runs: int) -> float:
    """Median seconds of ``fn`` after one warm-up run."""
    fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--backends", nargs="+", default=["reference", "wavefront", "compiled"])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 16])
    parser.add_argument("--heights", nargs="+", type=int, default=[64, 128])
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--seconds", type=float, default=2.0, help="minimum timing per cell")
    parser.add_argument("--model", type=Path, help="benchmark this model file's network instead")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (the compiled backend is CPU only)")
    parser.add_argument(
        "--default-malloc", action="store_true", help="keep glibc's malloc defaults (see hwr.allocator)"
    )
    args = parser.parse_args()
    configure_threads(args.threads)
    if not args.default_malloc:
        retain_freed_memory()
    torch.manual_seed(0)
    if args.model:
        network = load_model(args.model).network
        configs = [m.config for m in networks_of(network)]
        name = f"{args.model.name} network" + (f" ({len(configs)}-network ensemble)" if len(configs) > 1 else "")
    else:
        configs, name = [preset("graves2009", num_classes=NUM_CLASSES)], "Graves 2009 network"
    device = resolve_device(args.device)
    synchronize = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)  # time the GPU's work too
    nets = [MDLSTMNetwork(config) for config in configs]
    net = (Ensemble(nets) if len(nets) > 1 else nets[0]).to(device)
    print(
        f"{name}, {configs[0].num_classes} classes: {net.num_parameters():,} weights; "
        f"torch {torch.__version__}, {device}, {args.threads} thread(s), "
        f"{'default malloc' if args.default_malloc else 'malloc keeps freed memory'}\n"
    )
    print(
        "| backend | batch | HxW | fwd ms | fwd+bwd ms | lines/s (fwd+bwd) "
        "| GFLOP/line fwd | GFLOP/s fwd | GFLOP/s fwd+bwd |"
    )
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for backend in args.backends:
        for height in args.heights:
            for batch in args.batches:
                if backend == "reference" and batch > 1:
                    print(f"| {backend} | {batch} | {height}x{args.width} | — | — | — | | | (per image, as batch 1) |")
                    continue
                images = torch.rand(batch, height, args.width, device=device)
                sizes = torch.tensor([[height, args.width]] * batch, device=device)

                def forward() -> None:
                    with torch.no_grad():
                        net(images, sizes, backend=backend)
                    synchronize()

                def forward_backward() -> None:
                    net.zero_grad()
                    log_probs, _ = net(images, sizes, backend=backend)
                    log_probs.sum().backward()
                    synchronize()

                runs, seconds = (1, 0.0) if backend == "reference" else (3, args.seconds)
                fwd = time_call(forward, seconds, runs)
                both = time_call(forward_backward, seconds, runs)
                flops = sum(forward_flops(config, height, args.width) for config in configs)
                print(
                    f"| {backend} | {batch} | {height}x{args.width} | {fwd * 1e3:.1f} | {both * 1e3:.1f} "
                    f"| {batch / both:.1f} | {flops / 1e9:.3f} | {batch * flops / fwd / 1e9:.2f} "
                    f"| {3 * batch * flops / both / 1e9:.2f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
