"""``hwr lm``, ``hwr ensemble`` and ``hwr models``: making model files from trained models, and listing the shipped ones."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import (
    Device,
    ProgressBar,
    Threads,
    data_sources,
    device_for,
    existing,
    fail,
    parse_list,
    reports_errors,
    set_threads,
)


@reports_errors
def lm(
    model: Annotated[Path, typer.Option("--model", "-m", help="The trained model (best.safetensors).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the model with its language model.")],
    data: Annotated[
        list[str] | None,
        typer.Argument(help="The training lines, as given to hwr train: their texts are counted."),
    ] = None,
    config: Annotated[
        list[Path] | None,
        typer.Option(
            help="A run config (as for hwr train) whose [[data.sources]] give the lines instead of DATA, "
            "each read at its own scale (repeatable)."
        ),
    ] = None,
    valid: Annotated[str | None, typer.Option(help="Validation lines to tune on, as for hwr train.")] = None,
    text: Annotated[
        list[Path] | None, typer.Option(help="A plain-text file to count as well, a text a line (repeatable).")
    ] = None,
    partition: Annotated[float, typer.Option(help="As for hwr train.")] = 0.9,
    seed: Annotated[int, typer.Option(help="As for hwr train (it picks the partition).")] = 0,
    order: Annotated[int, typer.Option(min=1, help="Characters per n-gram (the context is one fewer).")] = 6,
    weights: Annotated[str, typer.Option(help="Language model weights to try.")] = "0.5,0.7,0.9",
    bonuses: Annotated[
        str, typer.Option(help="Insertion bonuses (log-probability per character) to try.")
    ] = "1.5,2,2.5",
    word_bonuses: Annotated[
        str, typer.Option(help="Bonuses per known word to try at the best weight and bonus (0 is always tried).")
    ] = "1,2,3",
    beam_width: Annotated[int, typer.Option(min=1, help="Prefixes kept per frame.")] = 64,
    threads: Threads = None,
    device: Device = "cpu",
) -> None:
    """Add a character n-gram and known-word bonus from the training texts (and --text), tuned on validation CER.

    --threads N runs the network on N threads and each trial's beam search in N processes.
    """
    from hwr.data.corpus import read_corpus
    from hwr.data.readers import LineSet
    from hwr.decoders.beam import BeamSettings
    from hwr.engine.config import DataConfig, merge_settings, read_config_file
    from hwr.engine.sources import read_sources
    from hwr.engine.tune_lm import add_language_model
    from hwr.model_file import provenance, read_model_file, save_model

    existing(*(Path(p) for p in data or []), *(config or []), Path(valid) if valid else None, model, *(text or []))
    if bool(data) == bool(config):
        fail("give the training lines either as DATA or as --config files' [[data.sources]], one of the two")
    if data:
        if valid is not None and len(data) > 1:
            fail(f"--valid goes with one data set, not {len(data)}: each set's valid split is used")
        settings = {"sources": [{"train": source, "valid": valid} for source in data_sources(data)]}
    else:
        if valid is not None:
            fail("--valid goes with DATA; a config file gives each source its valid")
        settings = {}
        for path in config or []:
            settings = merge_settings(settings, read_config_file(path).get("data", {}))
    settings.setdefault("partition", partition)  # a config file's own partition is the run's
    workers = set_threads(threads)
    recognizer, header, _ = read_model_file(model)
    recognizer.network.to(device_for(device))
    recognizer.language_model = None
    sources = read_sources(DataConfig.from_dict(settings), recognizer.preprocessing, seed)
    train_lines = LineSet(
        [line for s in sources for line in s.train.lines], [p for s in sources for p in s.train.problems]
    )
    texts = read_corpus(text or [])
    with ProgressBar() as progress:
        tuned, best, greedy = add_language_model(
            recognizer,
            train_lines,
            [(source.valid, source.preprocessing) for source in sources],
            order,
            parse_list(weights, "--weights", float),
            parse_list(bonuses, "--bonuses", float),
            parse_list(word_bonuses, "--word-bonuses", float),
            BeamSettings(beam_width=beam_width),
            log=progress.log,
            workers=workers,
            texts=texts,
        )
    save_model(output, tuned, extra_header=provenance(header))
    typer.echo(
        f"valid CER {100 * greedy.cer:.2f}% (greedy) -> {100 * best.cer:.2f}% with lm weight "
        f"{best.settings.lm_weight:g}, insertion bonus {best.settings.insertion_bonus:g}, "
        f"word bonus {best.settings.word_bonus:g}: {output}"
    )


@reports_errors
def ensemble(
    models: Annotated[
        list[Path],
        typer.Argument(
            help="Trained models of one alphabet, height and width "
            "reduction: two or more, or one read at several shifts."
        ),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the ensemble model.")],
    shifts: Annotated[
        str,
        typer.Option(
            help="Rows by which each network also reads the line moved down (up where negative), e.g. -7,0,7."
        ),
    ] = "0",
) -> None:
    """Combine trained models into one that averages their outputs; add a language model with hwr lm.

    Networks with 1-D LSTM layers (--sequence-lstm) are not averaged: each proposes readings
    that all networks then score.
    """
    from hwr.engine.combine import combine
    from hwr.ensemble import RescoringEnsemble, networks_of
    from hwr.model_file import member_record, read_model_file, save_model

    rows = parse_list(shifts, "--shifts")
    if len(models) * len(rows) < 2:
        fail("an ensemble needs at least two models, or one model read at two or more --shifts")
    existing(*models)
    loaded, members = [], []
    for path in models:
        model, header, _ = read_model_file(path)
        loaded.append(model)
        members.append(member_record(path, header))
    combined = combine(loaded, [str(path) for path in models], rows)
    save_model(output, combined, extra_header={"members": members})
    network = combined.network
    groups = network.groups if isinstance(network, RescoringEnsemble) else [network]
    sizes = "+".join(str(len(networks_of(group))) for group in groups)
    typer.echo(
        f"{len(networks_of(network))} networks at shifts {', '.join(map(str, rows))}, "
        + (f"in {len(groups)} groups ({sizes}) that rescore each other's readings, " if len(groups) > 1 else "")
        + f"{network.num_parameters():,} weights: {output}"
    )


@reports_errors
def models() -> None:
    """List the shipped models (recognizers for --model NAME, segmenters for --segmenter NAME) with their cards' summaries."""
    from hwr.shipped import DEFAULT_NAME, DEFAULT_SEGMENTER, shipped_models, summary

    defaults = {DEFAULT_NAME: " (default)", DEFAULT_SEGMENTER: " (default segmenter)"}
    for name, path in shipped_models().items():
        default = defaults.get(name, "")
        typer.echo(f"{name}{default}: {path}\n  {summary(name)}")
