"""Training throughput of one network: lines/s with 1 process x 1 thread, 1 process x 2 threads and
2 processes x 1 thread (data parallel, ``hwr train --processes 2``), on the same lines.

Each setup is one ``hwr train`` run of ``--epochs`` epochs on the first ``--train-lines`` training
and ``--valid-lines`` validation lines of a manifest (default: the Joseph Hooker crops beside the
checkout, read by the Hooker recipe's network a), started fresh and timed by its own log.csv:
lines/s is training lines over training time (validation excluded), s/epoch includes validation.
Run it on an otherwise idle machine.

    python bench/bench_training.py                       # the Hooker recipe's network a
    python bench/bench_training.py --epochs 8 --train-lines 1000    # longer: compare the CER curves
    git worktree add ../old v0; python bench/bench_training.py --baseline ../old   # old code against this

"vs first" compares each row with the first setup, or, with ``--baseline``, with the baseline's
run of the same setup.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
HOOKER = ROOT.parent / "shared/datasets/joseph_hooker_htr/lines.tsv"
RECIPE = ROOT / "datasets/joseph_hooker"


def subset(manifest: Path, train: int, valid: int, folder: Path) -> Path:
    """A manifest of the first ``train`` and ``valid`` lines of ``manifest``'s splits, images in place."""
    table = pd.read_csv(manifest, sep="\t", dtype=str, keep_default_na=False, quoting=3)
    table["image"] = [str((manifest.parent / image).resolve()) for image in table["image"]]
    parts = [table[table["split"] == "train"].head(train), table[table["split"] == "valid"].head(valid)]
    out = folder / "lines.tsv"
    pd.concat(parts).to_csv(out, sep="\t", index=False, quoting=3)
    return out


def run(
    manifest: Path,
    out: Path,
    processes: int,
    threads: int,
    epochs: int,
    configs: list[Path],
    checkout: Path | None = None,
) -> pd.DataFrame:
    """One ``hwr train`` run; with ``checkout``, that checkout's hwr instead of this one."""
    command = [sys.executable, "-m", "hwr", "train", str(manifest), "-o", str(out), "--epochs", str(epochs)]
    command += [arg for config in configs for arg in ("--config", str(config))]
    command += ["--threads", str(threads), "--processes", str(processes), "--patience", str(epochs)]
    env = {**os.environ, "HWR_THREADS": str(threads)}
    if checkout is not None:
        env["PYTHONPATH"] = str(checkout)
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, cwd=checkout)
    return pd.read_csv(out / "log.csv")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifest", type=Path, default=HOOKER)
    parser.add_argument("--train-lines", type=int, default=400)
    parser.add_argument("--valid-lines", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--config", type=Path, nargs="+", default=[RECIPE / "common.toml", RECIPE / "a.toml"])
    parser.add_argument("--setups", nargs="+", default=["1x1", "1x2", "2x1"], help="PROCESSESxTHREADS each")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout of hwr (e.g. a git worktree of an older commit, its C++ modules built): "
        "each setup runs with it too, in the same run, and the table compares the two",
    )
    args = parser.parse_args()
    if not args.manifest.is_file():
        sys.exit(f"error: {args.manifest}: no such manifest; give one with --manifest")
    with tempfile.TemporaryDirectory() as folder:
        manifest = subset(args.manifest, args.train_lines, args.valid_lines, Path(folder))
        logs = {}
        checkouts = {"baseline": args.baseline.resolve(), "this checkout": None} if args.baseline else {"": None}
        for setup in args.setups:
            processes, threads = map(int, setup.split("x"))
            for name, checkout in checkouts.items():
                out = Path(folder) / f"{setup}{name}"
                logs[setup, name] = run(manifest, out, processes, threads, args.epochs, args.config, checkout)
    print(f"{args.manifest.parent.name}: {args.train_lines} training and {args.valid_lines} validation lines, "
          f"{args.epochs} epochs, configs {' + '.join(c.name for c in args.config)}\n")  # fmt: skip
    code = "code | " if args.baseline else ""
    print(
        f"| processes x threads | {code}lines/s (training) | vs first | s/epoch (with validation) | valid CER by epoch |"
    )
    print(f"| --- | {'--- | ' if args.baseline else ''}---: | ---: | ---: | --- |")
    first = {}
    for (setup, name), log in logs.items():
        rate = log["lines_per_second"].mean()
        base = first.setdefault(setup if args.baseline else "", rate)
        per_epoch = log["seconds"].iloc[-1] / len(log)
        cers = ", ".join(f"{100 * c:.2f}" for c in log["valid_cer"])
        print(
            f"| {setup} | {f'{name} | ' if args.baseline else ''}{rate:.1f} | {rate / base:.2f}x | {per_epoch:.1f} | {cers} |"
        )


if __name__ == "__main__":
    main()
