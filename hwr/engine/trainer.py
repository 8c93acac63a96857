"""The training loop: CTC on width-batched lines, validation CER every epoch, checkpoints, logs.

Each epoch draws its shuffling and augmentation from ``(seed, epoch)``, so a run
resumed from a checkpoint continues exactly as the uninterrupted run would have; with
several processes each takes its share of every batch (:mod:`hwr.engine.distributed`).
Writes into ``out_dir``: ``best.safetensors`` (lowest validation CER),
``last.safetensors`` (resumable), ``log.csv`` (metrics per epoch) and
``curves.png`` (their plot), each replaced atomically.
"""

from __future__ import annotations

import functools
import gc
import math
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

from hwr.atomic import write_bytes_atomically
from hwr.data.augmentation import augment, augmented_width
from hwr.data.batching import collate, width_batches
from hwr.data.prepare import Prepared, prepare
from hwr.engine.checkpoint import TrainingState, save_checkpoint
from hwr.engine.config import TrainConfig
from hwr.engine.distributed import World, peers_alive
from hwr.engine.plot import plot_history
from hwr.engine.sources import Source, epoch_sample
from hwr.errors import ConfigError, TrainingError
from hwr.metrics import ErrorCounts, error_rates
from hwr.model_file import Model, save_model
from hwr.recognizer import transcribe_normalized
from hwr.threads import usable_cores

BEST, LAST, LOG, PLOT = "best.safetensors", "last.safetensors", "log.csv", "curves.png"
MAX_BAD_STEPS = 20
"""Consecutive non-finite losses after which training stops."""
FROZEN = "frozen"
"""Optimizer group key: the group of frozen parts (its learning rate is 0 while they are)."""
PEAK_LR = "peak_lr"
"""Optimizer group key: the learning rate the schedule scales (lowered by reduce-on-plateau)."""
T, R = TypeVar("T"), TypeVar("R")


def make_optimizer(model: Model, config: TrainConfig) -> torch.optim.Optimizer:
    """The optimizer, with one parameter group for the parts ``config.freeze`` names (marked
    :data:`FROZEN`; the schedule gives it no learning rate while they are frozen) after the rest."""
    frozen = frozen_parameters(model.network, config.freeze)
    rest = [p for p in model.network.parameters() if all(p is not q for q in frozen)]
    groups = [{"params": rest}] + ([{"params": frozen, FROZEN: True}] if frozen else [])
    # One fused (AdamW) or multi-tensor (RMSprop) update of all parameters instead of a dozen small
    # operations per tensor: a twentieth of the base network's step, as a loop.
    if config.optimizer == "adam":
        return torch.optim.AdamW(groups, lr=config.learning_rate, weight_decay=config.weight_decay, fused=True)
    return torch.optim.RMSprop(groups, lr=config.learning_rate, weight_decay=config.weight_decay, foreach=True)


def frozen_parameters(network: torch.nn.Module, parts: tuple[str, ...]) -> list[torch.nn.Parameter]:
    """The parameters of the named parts of ``network`` (see :attr:`TrainConfig.freeze`)."""
    if not parts:
        return []
    levels = len(network.mdlstm)
    modules: list[torch.nn.Module] = []
    for part in parts:
        if part == "conv":
            if not len(network.convs):
                raise ConfigError("freeze: conv, but the network has no convolutions")
            modules.append(network.convs)
        else:
            numbers = range(1, levels + 1) if part == "mdlstm" else [int(part[len("mdlstm") :])]
            for number in numbers:
                if number > levels:
                    raise ConfigError(f"freeze: {part}, but the network has {levels} MDLSTM levels")
                modules.append(network.mdlstm[number - 1])
                if number <= len(network.subsample):
                    modules.append(network.subsample[number - 1])
    unique: dict[int, torch.nn.Parameter] = {}
    for module in modules:
        unique.update((id(p), p) for p in module.parameters())
    return list(unique.values())


class Trainer:
    """Trains ``model`` into ``out_dir``, as one of ``world``'s processes (see :mod:`hwr.engine.distributed`)."""

    def __init__(
        self,
        model: Model,
        out_dir: str | Path,
        log: Callable[[str], None] = print,
        world: World | None = None,
        device: torch.device | None = None,
    ) -> None:
        self.world = world or World()
        self.device = device or torch.device("cpu")
        self.model = model
        self.model.network.to(self.device)
        self.out_dir = Path(out_dir)
        self.log = self.world.main_only(log)

    def fit(
        self,
        sources: list[Source],
        state: TrainingState,
        optimizer_state: dict | None = None,
        progress: Callable[[int, int, int], None] | None = None,
    ) -> TrainingState:
        """Train from ``state`` (epoch 0, or a resumed checkpoint's) until a stopping rule holds.

        ``progress(epoch, done, total)`` is called after every batch (by rank 0).
        """
        config = state.config
        main = self.world.is_main
        progress = progress if main else None
        if main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            for name in (BEST, LAST, LOG, PLOT):  # half-written files of a killed run
                for stale in self.out_dir.glob(f".{name}.*.tmp"):
                    stale.unlink(missing_ok=True)
        several = len(sources) > 1
        trains, valids = self._prepare(sources)
        train_data = joined(trains)
        unknown = self.model.alphabet.unknown(text for valid in valids for text in valid.texts)
        if unknown:
            listing = ", ".join(f"{c!r} x{n}" for c, n in unknown.most_common())
            self.log(f"valid: characters not in the alphabet (they count as errors): {listing}")
        select_on = state.run.data.select_on
        if several:
            self.log(f"selecting the best model on the validation CER of {select_on or 'all sources together'}")
        # The prepared lines live as long as the run: frozen, the garbage collector no longer walks them
        # at every full collection, a pause that in a run of several processes stalls them all.
        gc.freeze()
        optimizer = make_optimizer(self.model, config)
        if optimizer_state is not None:
            optimizer.load_state_dict(optimizer_state)
        for group in optimizer.param_groups:  # checkpoints from before schedules lack it
            group.setdefault(PEAK_LR, group["lr"])
        step_network = self._step_network()
        sizes, weights = [len(t.ids) for t in trains], [source.weight for source in sources]
        while state.epoch < config.epochs:
            if state.epoch - state.best_epoch >= config.patience and state.best_epoch > 0:
                self.log(f"early stop: no better validation CER for {config.patience} epochs")
                break
            if config.max_minutes is not None and state.seconds >= 60 * config.max_minutes:
                self.log(
                    f"time budget of {config.max_minutes:g} minutes reached (--resume with a larger --max-minutes goes on)"
                )
                break
            start = time.perf_counter()
            sample = epoch_sample(sizes, weights, sampling_rng(config.seed, state.epoch))
            loss, bad_steps = self._train_epoch(
                step_network, train_data, sample, optimizer, config, state.epoch, progress
            )
            train_seconds = self.world.from_main(time.perf_counter() - start)
            rates, per_source = self._validate(sources, valids)
            state.epoch += 1
            state.seconds += self.world.from_main(time.perf_counter() - start)
            state.history.append(
                {
                    "epoch": state.epoch,
                    "train_loss": loss,
                    "valid_cer": rates.cer,
                    "valid_wer": rates.wer,
                    **({f"valid_cer:{name}": r.cer for name, r in per_source.items()} if several else {}),
                    **({f"valid_wer:{name}": r.wer for name, r in per_source.items()} if several else {}),
                    "learning_rate": optimizer.param_groups[0]["lr"],
                    "lines_per_second": len(sample) / train_seconds,
                    "skipped_steps": bad_steps,
                    "seconds": state.seconds,
                    "processes": self.world.size,
                }
            )
            selected = per_source[select_on].cer if select_on else rates.cer
            improved = selected < state.best_cer
            if improved:
                state.best_cer, state.best_epoch = selected, state.epoch
                if main:
                    save_model(self.out_dir / BEST, self.model, extra_header={"training": state.to_dict()})
            elif config.lr_patience and (state.epoch - state.best_epoch) % config.lr_patience == 0:
                for group in optimizer.param_groups:
                    group[PEAK_LR] *= config.lr_factor
                    group["lr"] *= config.lr_factor
                self.log(
                    f"no better validation CER for {config.lr_patience} epochs: "
                    f"learning rate now {optimizer.param_groups[0]['lr']:.3g}"
                )
            if main:
                save_checkpoint(self.out_dir / LAST, self.model, optimizer, state)
                self._write_log(state)
            each = ", ".join(f"{name} {100 * r.cer:.2f}%" for name, r in per_source.items())
            self.log(
                f"epoch {state.epoch}: loss {loss:.3f}  valid CER {100 * rates.cer:.2f}%"
                + (f" ({each})" if several else "")
                + f"  WER {100 * rates.wer:.2f}%  {len(sample) / train_seconds:.0f} lines/s"
                + ("  (best)" if improved else "")
            )
        for source, train, valid in zip(sources, trains, valids):
            for name, data, lines in (("train", train, source.train), ("valid", valid, source.valid)):
                skipped = len(lines.lines) + len(lines.problems) - len(data.ids)
                if skipped:
                    where = f"{source.name} " if several else ""
                    self.log(f"{where}{name}: {skipped} lines were skipped (see the warnings at the start)")
        return state

    def _prepare(self, sources: list[Source]) -> tuple[list[Prepared], list[Prepared]]:
        """Each source's training and validation lines, read and normalised at its own scale."""
        trains, valids = [], []
        for source in sources:
            where = f"{source.name} " if len(sources) > 1 else ""
            trains.append(prepare(source.train, self.model, f"{where}train", self.log, True, source.preprocessing))
            valids.append(prepare(source.valid, self.model, f"{where}valid", self.log, False, source.preprocessing))
        return trains, valids

    def _step_network(self) -> torch.nn.Module:
        """The network to step: with several ranks, wrapped in torch's DistributedDataParallel, which adds
        up their gradients during the backward pass, in small buckets so that the first go while later
        layers' gradients are still being computed."""
        network = self.model.network
        if self.world.size == 1:
            return network
        return DistributedDataParallel(network, bucket_cap_mb=0.25, gradient_as_bucket_view=True, static_graph=True)

    def _validate(self, sources: list[Source], valids: list[Prepared]) -> tuple[ErrorCounts, dict[str, ErrorCounts]]:
        """The error counts of all validation lines, and of each source's."""
        texts = self._transcribe([image for valid in valids for image in valid.images])
        per_source, first = {}, 0
        for source, valid in zip(sources, valids):
            per_source[source.name] = error_rates(valid.texts, texts[first : first + len(valid.texts)])
            first += len(valid.texts)
        return sum(per_source.values(), ErrorCounts()), per_source

    def _transcribe(self, images: list[np.ndarray]) -> list[str]:
        """The texts of ``images``, each rank reading its share."""
        shares = self.world.gather([t.text for t in transcribe_normalized(self.model, self.world.share(images))])
        return self.world.unshare(shares)

    def _train_epoch(
        self,
        step_network: torch.nn.Module,
        data: Prepared,
        sample: np.ndarray,
        optimizer: torch.optim.Optimizer,
        config: TrainConfig,
        epoch: int,
        progress: Callable[[int, int, int], None] | None,
    ) -> tuple[float, int]:
        """One epoch over the lines of ``sample``; returns the mean loss per line and the number of
        skipped steps. Batches hold positions in ``sample``: a line drawn twice is augmented twice."""
        torch.manual_seed(config.seed * 100_003 + epoch + 7_919 * self.world.rank)  # dropout: each rank its own
        network = self.model.network
        network.train()
        widths = [data.images[i].shape[1] for i in sample]
        batches = width_batches(widths, config.batch_size, rng_of(config.seed, epoch))
        totals = torch.zeros(2, dtype=torch.float64)  # loss and lines of the steps taken
        bad_steps, bad_in_a_row = 0, 0
        inputs_of = functools.partial(self._inputs, data, sample, config=config, epoch=epoch)
        beside = usable_cores() > torch.get_num_threads() * self.world.size  # a core free of torch's threads
        for done, inputs in enumerate(prefetched(batches, inputs_of, beside), start=1):
            optimizer.zero_grad(set_to_none=True)
            with peers_alive():
                loss, lines = self._backward(step_network, inputs)
            factor = config.learning_rate_factor(epoch + done / len(batches))
            frozen = epoch < (config.freeze_epochs or config.epochs)
            for group in optimizer.param_groups:
                group["lr"] = 0.0 if group.get(FROZEN) and frozen else group[PEAK_LR] * factor
            learning = [p for g in optimizer.param_groups if not (g.get(FROZEN) and frozen) for p in g["params"]]
            grad_norm = torch.nn.utils.clip_grad_norm_(learning, config.clip_norm, foreach=True)
            if not torch.isfinite(grad_norm):  # the same on every rank: the gradients are
                bad_steps, bad_in_a_row = bad_steps + 1, bad_in_a_row + 1
                problem = f"loss is {loss}" if not math.isfinite(loss) else "gradient is not finite"
                self.log(f"warning: epoch {epoch + 1} batch {done}: {problem}, step skipped")
                if bad_in_a_row >= MAX_BAD_STEPS:
                    raise TrainingError(
                        f"{MAX_BAD_STEPS} non-finite losses in a row: training diverged; "
                        "lower --learning-rate or --clip-norm and --resume from the last checkpoint"
                    )
                continue
            optimizer.step()
            bad_in_a_row = 0
            totals += torch.tensor([loss, lines], dtype=torch.float64)
            if progress is not None:
                progress(epoch + 1, done, len(batches))
        loss_sum, lines = self.world.sum_(totals).tolist()
        return loss_sum / max(lines, 1), bad_steps

    def _share(
        self, data: Prepared, sample: np.ndarray, batch: list[int], config: TrainConfig, epoch: int
    ) -> list[int]:
        """This rank's lines of ``batch``: shares of about equal width once augmented (it changes the
        widths by up to ``augmentation.scale``), so no rank waits long for another."""
        if self.world.size == 1:
            return batch
        if config.augment:
            widths = [
                augmented_width(*data.images[sample[k]].shape, config.augmentation, rng_of(config.seed, epoch, k))
                for k in batch
            ]
        else:
            widths = [data.images[sample[k]].shape[1] for k in batch]
        return self.world.balanced_share(batch, widths)

    def _inputs(
        self, data: Prepared, sample: np.ndarray, batch: list[int], config: TrainConfig, epoch: int
    ) -> BatchInputs:
        """This rank's share of ``batch``, augmented and collated."""
        share = self._share(data, sample, batch, config, epoch)
        # Each rank takes part in every step; one whose share is empty reads a line at weight 0.
        weight = self.world.size / len(batch) if share else 0.0
        positions = share or batch[:1]
        images = [data.images[sample[k]] for k in positions]
        if config.augment:
            images = [
                augment(im, config.augmentation, rng_of(config.seed, epoch, k)) for im, k in zip(images, positions)
            ]
        tensor, sizes = collate(images)
        labels = [data.labels[sample[k]] for k in positions]
        return BatchInputs(tensor, sizes, labels, weight, len(share))

    def _backward(self, network: torch.nn.Module, inputs: BatchInputs) -> tuple[float, int]:
        """Gradients of the batch's mean CTC loss per line into the parameters, from this rank's
        share of it (the ranks' parts add up to it); returns the share's summed loss and lines."""
        log_probs, lengths = network(inputs.images.to(self.device), inputs.sizes.to(self.device))
        loss = F.ctc_loss(
            log_probs,
            torch.tensor([k for label in inputs.labels for k in label], dtype=torch.long, device=self.device),
            lengths,
            torch.tensor([len(label) for label in inputs.labels], dtype=torch.long, device=self.device),
            blank=0,
            reduction="sum",
            zero_infinity=True,
        )
        (loss * inputs.weight).backward()  # a loss that is not finite makes the gradient so, on every rank
        return (loss.item(), inputs.lines) if inputs.lines else (0.0, 0)

    def _write_log(self, state: TrainingState) -> None:
        table = pd.DataFrame(state.history)
        write_bytes_atomically(self.out_dir / LOG, table.to_csv(index=False).encode())
        write_bytes_atomically(self.out_dir / PLOT, plot_history(table))


@dataclass
class BatchInputs:
    """One rank's share of a batch, ready for the network."""

    images: torch.Tensor
    sizes: torch.Tensor
    labels: list[list[int]]
    weight: float
    """Its loss's weight in the step: ranks / batch size (0 for a rank whose share is empty)."""
    lines: int
    """Lines of the share (0 where it is empty and reads a line at weight 0)."""


def prefetched(items: list[T], make: Callable[[T], R], beside: bool) -> Iterator[R]:
    """``make(item)`` of each item in order; with ``beside``, the next one made in a thread beside the
    caller's work on this one. Batches are augmented and collated so (OpenCV and NumPy release the
    GIL), a tenth of a step of the base network on one thread; each line's random numbers are its
    own (:func:`rng_of`), so what is made does not depend on when. Only where a core is free: beside
    torch's threads on every core, it slows them more than it saves (see :mod:`hwr.threads`)."""
    if not beside:
        yield from map(make, items)
        return
    with ThreadPoolExecutor(1, thread_name_prefix="hwr-batches") as loader:
        upcoming = loader.submit(make, items[0]) if items else None
        for k in range(len(items)):
            current = upcoming.result()
            if k + 1 < len(items):
                upcoming = loader.submit(make, items[k + 1])
            yield current


def joined(parts: list[Prepared]) -> Prepared:
    """The lines of ``parts`` laid end to end."""
    return Prepared(
        *(sum((getattr(part, name) for part in parts), []) for name in ("ids", "texts", "images", "labels"))
    )


def rng_of(seed: int, epoch: int, line: int | None = None) -> np.random.Generator:
    """The random numbers of an epoch's shuffling, or of one line's augmentation in it (``line``: its
    position in the epoch's sample): drawn by line, not in the order lines are processed, so they
    do not depend on the processes' shares."""
    return np.random.default_rng([seed, epoch] if line is None else [seed, epoch, line])


def sampling_rng(seed: int, epoch: int) -> np.random.Generator:
    """The random numbers of an epoch's draw from the sources: a stream of its own (a spawn key)."""
    return np.random.default_rng(np.random.SeedSequence([seed, epoch], spawn_key=(1,)))
