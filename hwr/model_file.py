"""Model files: safetensors weights with the JSON config in the same file's header.

One file holds everything needed to transcribe (network config, alphabet,
preprocessing), and loading it never executes code: safetensors is plain
tensors plus a JSON header, unlike pickles (``torch.save``), which are refused
with a message. Training checkpoints are model files with extra header fields
and tensors (see :mod:`hwr.engine.checkpoint`), so any checkpoint can transcribe.
An ensemble (:mod:`hwr.ensemble`) lists its members' configs under ``networks``, a
rescoring ensemble each group's header under ``groups``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load, save
from torch import Tensor

from hwr.atomic import write_bytes_atomically
from hwr.data.alphabet import Alphabet
from hwr.data.images import Preprocessing
from hwr.decoders.language_model import LanguageModel
from hwr.ensemble import Ensemble, RescoringEnsemble
from hwr.errors import ModelFileError
from hwr.network import MDLSTMNetwork
from hwr.network_config import NetworkConfig

if TYPE_CHECKING:
    from hwr.pages import PageReading
    from hwr.recognizer import Transcription
    from hwr.segmentation.model import SegmentationModel

FORMAT = "hwr-model"
SEGMENTER_FORMAT = "hwr-segmenter"
KINDS = {FORMAT: "recognition", SEGMENTER_FORMAT: "segmentation"}
"""The kinds of model file, by their header's ``format``."""
VERSION = 1
NETWORK_PREFIX = "network."
LANGUAGE_MODEL_PREFIX = "language_model."


@dataclass
class Model:
    """A trained recognizer: what a model file holds."""

    network: MDLSTMNetwork | Ensemble | RescoringEnsemble
    alphabet: Alphabet
    preprocessing: Preprocessing
    language_model: LanguageModel | None = None
    """Where present, transcription uses beam search with it (see :mod:`hwr.decoders.beam`)."""

    def __post_init__(self) -> None:
        if self.network.num_classes != len(self.alphabet):
            raise ValueError(f"network has {self.network.num_classes} classes, alphabet {len(self.alphabet)}")

    def transcribe(self, images: Sequence[str | Path | np.ndarray], batch_size: int = 16) -> list[Transcription]:
        """The text and confidence of each line image (a file, or an array as OpenCV reads it)."""
        from hwr.recognizer import transcribe  # the recognizer builds on this module

        return transcribe(self, images, batch_size)

    def transcribe_page(
        self,
        image: str | Path,
        layout: str | Path | None = None,
        segmenter: SegmentationModel | None = None,
        batch_size: int = 16,
    ) -> PageReading:
        """Every line of the page image ``image``, as its PAGE/ALTO ``layout`` gives them or, without
        one, as ``segmenter`` (None: the default segmenter) finds them (see :func:`hwr.pages.transcribe_page`)."""
        from hwr.pages import transcribe_page

        return transcribe_page(self, image, layout, segmenter, batch_size)


def save_model(
    path: str | Path,
    model: Model,
    extra_header: dict[str, Any] | None = None,
    extra_tensors: dict[str, Tensor] | None = None,
) -> None:
    """Write ``model`` (plus optional extra JSON fields and tensors) to ``path`` atomically."""
    header = {
        **(extra_header or {}),
        "format": FORMAT,
        "version": VERSION,
        **_network_header(model.network),
        "alphabet": list(model.alphabet.characters),
        "preprocessing": model.preprocessing.to_dict(),
    }
    tensors = {NETWORK_PREFIX + name: t for name, t in model.network.state_dict().items()}
    if model.language_model is not None:
        header["language_model"] = model.language_model.to_dict()
        tables = model.language_model.tables().items()
        tensors.update({LANGUAGE_MODEL_PREFIX + name: torch.from_numpy(table) for name, table in tables})
    tensors.update(extra_tensors or {})
    write_checked(path, header, tensors)


def write_checked(path: str | Path, header: dict[str, Any], tensors: dict[str, Tensor]) -> None:
    """``tensors`` and the JSON ``header`` (with its ``format``) as a safetensors file, with the
    checksum of both in the header, written atomically: what every hwr model file is."""
    tensors = {name: t.detach().cpu().contiguous() for name, t in tensors.items()}
    header = {**header, "sha256": _digest(header, tensors)}
    write_bytes_atomically(path, save(tensors, metadata={"hwr": json.dumps(header)}))


def _network_header(network: MDLSTMNetwork | Ensemble | RescoringEnsemble) -> dict[str, Any]:
    """``network``: one network's config; ``networks``: an ensemble's, one per member, and its ``shifts``;
    ``groups``: a rescoring ensemble's, one of those per group."""
    if isinstance(network, RescoringEnsemble):
        return {"groups": [_network_header(group) for group in network.groups]}
    if isinstance(network, Ensemble):
        return {"networks": [member.config.to_dict() for member in network.members], "shifts": list(network.shifts)}
    return {"network": network.config.to_dict()}


def _network_from_header(header: dict[str, Any]) -> MDLSTMNetwork | Ensemble | RescoringEnsemble:
    if "groups" in header:
        groups = [_network_from_header(group) for group in header["groups"]]
        if any(isinstance(group, RescoringEnsemble) for group in groups):
            raise ValueError("a rescoring ensemble's groups cannot be rescoring ensembles")
        return RescoringEnsemble(groups)  # type: ignore[arg-type]
    if "networks" in header:
        members = [MDLSTMNetwork(NetworkConfig.from_dict(config)) for config in header["networks"]]
        return Ensemble(members, shifts=header.get("shifts", (0,)))  # files before shifts read unshifted
    return MDLSTMNetwork(NetworkConfig.from_dict(header["network"]))


def _digest(header: dict[str, Any], tensors: dict[str, Tensor]) -> str:
    """SHA-256 over the header (less this digest) and every tensor: any edit to the file shows."""
    digest = hashlib.sha256(json.dumps({k: v for k, v in header.items() if k != "sha256"}, sort_keys=True).encode())
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        digest.update(f"{name}:{t.dtype}:{tuple(t.shape)};".encode())
        digest.update(t.view(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()


def _looks_like_pickle(data: bytes) -> bool:
    return data[:1] == b"\x80" or data[:2] == b"PK"  # pickle protocol 2+, torch.save's zip


def read_checked(path: str | Path, format: str) -> tuple[dict[str, Any], dict[str, Tensor]]:
    """The header and tensors of the hwr file ``path`` of ``format`` (a recognizer's
    :data:`FORMAT`, or a segmenter's), after checking its checksum; raises :class:`ModelFileError`."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read model file ({exc.strerror or exc})") from None
    try:
        tensors = load(data)
        with_header = json.loads(data[8 : 8 + int.from_bytes(data[:8], "little")])
        header = json.loads(with_header["__metadata__"]["hwr"])
    except (SafetensorError, ValueError, KeyError, TypeError) as exc:
        if _looks_like_pickle(data):  # checked only now: a safetensors length can start with 0x80 too
            raise ModelFileError(
                f"{path}: is a pickle (torch.save) file; hwr loads only its safetensors model files, "
                "because unpickling can execute arbitrary code"
            ) from None
        raise ModelFileError(f"{path}: not a valid hwr model file (truncated or corrupt: {exc})") from None
    if not isinstance(header, dict) or header.get("format") not in KINDS or header.get("version") != VERSION:
        raise ModelFileError(f"{path}: not an hwr model file of version {VERSION}")
    if header["format"] != format:
        raise ModelFileError(f"{path}: is a {KINDS[header['format']]} model, not a {KINDS[format]} model")
    if header.get("sha256") != _digest(header, tensors):
        raise ModelFileError(f"{path}: the contents do not match the file's checksum (damaged or modified)")
    return header, tensors


def model_kind(path: str | Path) -> str:
    """``recognition`` or ``segmentation``: what the hwr model file ``path`` holds, from its header
    alone (its checksum is checked when it is loaded); raises :class:`ModelFileError`."""
    try:
        with Path(path).open("rb") as stream:
            length = int.from_bytes(stream.read(8), "little")
            header = json.loads(json.loads(stream.read(length))["__metadata__"]["hwr"])
        return KINDS[header["format"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelFileError(f"{path}: not an hwr model file ({exc})") from None


def read_model_file(path: str | Path) -> tuple[Model, dict[str, Any], dict[str, Tensor]]:
    """The model, the whole JSON header and the tensors that are not network weights."""
    header, tensors = read_checked(path, FORMAT)
    weights = {k[len(NETWORK_PREFIX) :]: t for k, t in tensors.items() if k.startswith(NETWORK_PREFIX)}
    tables = {
        k[len(LANGUAGE_MODEL_PREFIX) :]: t.numpy() for k, t in tensors.items() if k.startswith(LANGUAGE_MODEL_PREFIX)
    }
    extra = {k: t for k, t in tensors.items() if not k.startswith((NETWORK_PREFIX, LANGUAGE_MODEL_PREFIX))}
    try:
        network = _network_from_header(header)
        network.load_state_dict(weights)
        alphabet = Alphabet(header["alphabet"])
        language_model = header.get("language_model")
        if language_model is not None:
            language_model = LanguageModel.from_dict(language_model, alphabet, tables or None)
        model = Model(network, alphabet, Preprocessing.from_dict(header["preprocessing"]), language_model)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ModelFileError(f"{path}: inconsistent model file ({exc})") from None
    network.eval()
    return model, header, extra


def provenance(header: dict[str, Any]) -> dict[str, Any]:
    """How a model was made (its training record, or an ensemble's members), for a file that
    rewrites it (``hwr lm``, ``hwr ensemble``) to carry over."""
    return {key: header[key] for key in ("training", "members") if key in header}


def member_record(path: str | Path, header: dict[str, Any]) -> dict[str, Any]:
    """What an ensemble's file records of one member: its name, checksum and provenance."""
    return {"model": Path(path).as_posix(), "sha256": header["sha256"], **provenance(header)}


def load_model(path: str | Path) -> Model:
    """Read a model (or checkpoint) file; any problem raises :class:`ModelFileError`."""
    return read_model_file(path)[0]
