"""The training loop: CTC on width-batched lines, validation CER every epoch, checkpoints, logs.

Each epoch draws its shuffling and augmentation from ``(seed, epoch)``, so a run
resumed from a checkpoint continues exactly as the uninterrupted run would have.
Writes into ``out_dir``: ``best.safetensors`` (lowest validation CER),
``last.safetensors`` (resumable), ``log.csv`` (metrics per epoch) and
``curves.png`` (their plot), each replaced atomically.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from hwr.atomic import write_bytes_atomically
from hwr.data.augmentation import augment
from hwr.data.batching import collate, width_batches
from hwr.data.prepare import Prepared, prepare
from hwr.data.readers import LineSet
from hwr.engine.checkpoint import TrainingState, save_checkpoint
from hwr.engine.config import TrainConfig
from hwr.engine.plot import plot_history
from hwr.errors import TrainingError
from hwr.metrics import error_rates
from hwr.model_file import Model, save_model
from hwr.recognizer import transcribe_normalized

BEST, LAST, LOG, PLOT = "best.safetensors", "last.safetensors", "log.csv", "curves.png"
MAX_BAD_STEPS = 20
"""Consecutive non-finite losses after which training stops."""
PEAK_LR = "peak_lr"
"""Optimizer group key: the learning rate the schedule scales (lowered by reduce-on-plateau)."""


def make_optimizer(model: Model, config: TrainConfig) -> torch.optim.Optimizer:
    params = model.network.parameters()
    if config.optimizer == "adam":
        return torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=config.weight_decay)
    return torch.optim.RMSprop(params, lr=config.learning_rate, weight_decay=config.weight_decay)


class Trainer:
    def __init__(self, model: Model, out_dir: str | Path, log: Callable[[str], None] = print) -> None:
        self.model = model
        self.out_dir = Path(out_dir)
        self.log = log

    def fit(
        self,
        train: LineSet,
        valid: LineSet,
        state: TrainingState,
        optimizer_state: dict | None = None,
        progress: Callable[[int, int, int], None] | None = None,
    ) -> TrainingState:
        """Train from ``state`` (epoch 0, or a resumed checkpoint's) until a stopping rule holds.

        ``progress(epoch, done, total)`` is called after every batch.
        """
        config = state.config
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for name in (BEST, LAST, LOG, PLOT):  # half-written files of a killed run
            for stale in self.out_dir.glob(f".{name}.*.tmp"):
                stale.unlink(missing_ok=True)
        train_data = prepare(train, self.model, "train", self.log, for_training=True)
        valid_data = prepare(valid, self.model, "valid", self.log, for_training=False)
        unknown = self.model.alphabet.unknown(valid_data.texts)
        if unknown:
            listing = ", ".join(f"{c!r} x{n}" for c, n in unknown.most_common())
            self.log(f"valid: characters not in the alphabet (they count as errors): {listing}")
        optimizer = make_optimizer(self.model, config)
        if optimizer_state is not None:
            optimizer.load_state_dict(optimizer_state)
        for group in optimizer.param_groups:  # checkpoints from before schedules lack it
            group.setdefault(PEAK_LR, group["lr"])
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
            loss, bad_steps = self._train_epoch(train_data, optimizer, config, state.epoch, progress)
            train_seconds = time.perf_counter() - start
            rates = error_rates(
                valid_data.texts, [t.text for t in transcribe_normalized(self.model, valid_data.images)]
            )
            state.epoch += 1
            state.seconds += time.perf_counter() - start
            state.history.append(
                {
                    "epoch": state.epoch,
                    "train_loss": loss,
                    "valid_cer": rates.cer,
                    "valid_wer": rates.wer,
                    "learning_rate": optimizer.param_groups[0]["lr"],
                    "lines_per_second": len(train_data.ids) / train_seconds,
                    "skipped_steps": bad_steps,
                    "seconds": state.seconds,
                }
            )
            improved = rates.cer < state.best_cer
            if improved:
                state.best_cer, state.best_epoch = rates.cer, state.epoch
                save_model(self.out_dir / BEST, self.model, extra_header={"training": state.to_dict()})
            elif config.lr_patience and (state.epoch - state.best_epoch) % config.lr_patience == 0:
                for group in optimizer.param_groups:
                    group[PEAK_LR] *= config.lr_factor
                    group["lr"] *= config.lr_factor
                self.log(
                    f"no better validation CER for {config.lr_patience} epochs: "
                    f"learning rate now {optimizer.param_groups[0]['lr']:.3g}"
                )
            save_checkpoint(self.out_dir / LAST, self.model, optimizer, state)
            self._write_log(state)
            self.log(
                f"epoch {state.epoch}: loss {loss:.3f}  valid CER {100 * rates.cer:.2f}%  "
                f"WER {100 * rates.wer:.2f}%  {len(train_data.ids) / train_seconds:.0f} lines/s"
                + ("  (best)" if improved else "")
            )
        for name, data, lines in (("train", train_data, train), ("valid", valid_data, valid)):
            skipped = len(lines.lines) + len(lines.problems) - len(data.ids)
            if skipped:
                self.log(f"{name}: {skipped} lines were skipped (see the warnings at the start)")
        return state

    def _train_epoch(
        self,
        data: Prepared,
        optimizer: torch.optim.Optimizer,
        config: TrainConfig,
        epoch: int,
        progress: Callable[[int, int, int], None] | None,
    ) -> tuple[float, int]:
        rng = np.random.default_rng([config.seed, epoch])
        torch.manual_seed(config.seed * 100_003 + epoch)
        network = self.model.network
        network.train()
        batches = width_batches([im.shape[1] for im in data.images], config.batch_size, rng)
        total_loss, lines, bad_steps, bad_in_a_row = 0.0, 0, 0, 0
        for done, batch in enumerate(batches, start=1):
            images = [data.images[i] for i in batch]
            if config.augment:
                images = [augment(im, config.augmentation, rng) for im in images]
            tensor, sizes = collate(images)
            labels = [data.labels[i] for i in batch]
            log_probs, lengths = network(tensor, sizes)
            loss = F.ctc_loss(
                log_probs,
                torch.tensor([k for label in labels for k in label], dtype=torch.long),
                lengths,
                torch.tensor([len(label) for label in labels], dtype=torch.long),
                blank=0,
                reduction="sum",
                zero_infinity=True,
            ) / len(batch)
            optimizer.zero_grad(set_to_none=True)
            if not torch.isfinite(loss):
                bad_steps, bad_in_a_row = bad_steps + 1, bad_in_a_row + 1
                self.log(f"warning: epoch {epoch + 1} batch {done}: loss is {loss.item()}, step skipped")
                if bad_in_a_row >= MAX_BAD_STEPS:
                    raise TrainingError(
                        f"{MAX_BAD_STEPS} non-finite losses in a row: training diverged; "
                        "lower --learning-rate or --clip-norm and --resume from the last checkpoint"
                    )
                continue
            loss.backward()
            factor = config.learning_rate_factor(epoch + done / len(batches))
            for group in optimizer.param_groups:
                group["lr"] = group[PEAK_LR] * factor
            grad_norm = torch.nn.utils.clip_grad_norm_(network.parameters(), config.clip_norm)
            if not torch.isfinite(grad_norm):
                optimizer.zero_grad(set_to_none=True)
                bad_steps, bad_in_a_row = bad_steps + 1, bad_in_a_row + 1
                self.log(f"warning: epoch {epoch + 1} batch {done}: gradient is not finite, step skipped")
                continue
            optimizer.step()
            bad_in_a_row = 0
            total_loss += loss.item() * len(batch)
            lines += len(batch)
            if progress is not None:
                progress(epoch + 1, done, len(batches))
        return total_loss / max(lines, 1), bad_steps

    def _write_log(self, state: TrainingState) -> None:
        table = pd.DataFrame(state.history)
        write_bytes_atomically(self.out_dir / LOG, table.to_csv(index=False).encode())
        write_bytes_atomically(self.out_dir / PLOT, plot_history(table))
