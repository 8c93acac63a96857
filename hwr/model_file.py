"""Model files: safetensors weights with the JSON config in the same file's header.

One file holds everything needed to transcribe (network config, alphabet), and
loading it never executes code: safetensors is plain tensors plus a JSON header,
unlike pickles (``torch.save``), which are refused with a message.
"""

from __future__ import annotations

import json
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load, save

from hwr.atomic import write_bytes_atomically
from hwr.data.alphabet import Alphabet
from hwr.network import MDLSTMNetwork, NetworkConfig

FORMAT = "hwr-model"
VERSION = 1


class ModelFileError(ValueError):
    """A model file that can't be used; the message names the file and the problem."""


def save_model(path: str | Path, network: MDLSTMNetwork, alphabet: Alphabet) -> None:
    """Write ``network`` and ``alphabet`` to ``path`` atomically."""
    if network.config.num_classes != len(alphabet):
        raise ValueError(f"network has {network.config.num_classes} classes, alphabet {len(alphabet)}")
    header = {
        "format": FORMAT,
        "version": VERSION,
        "network": network.config.to_dict(),
        "alphabet": list(alphabet.characters),
    }
    tensors = {name: t.detach().cpu().contiguous() for name, t in network.state_dict().items()}
    write_bytes_atomically(path, save(tensors, metadata={"hwr": json.dumps(header)}))


def _looks_like_pickle(data: bytes) -> bool:
    return data[:1] == b"\x80" or data[:2] == b"PK"  # pickle protocol 2+, torch.save's zip


def load_model(path: str | Path) -> tuple[MDLSTMNetwork, Alphabet]:
    """Read a model file written by :func:`save_model`; any problem raises :class:`ModelFileError`."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read model file ({exc.strerror or exc})") from None
    if _looks_like_pickle(data):
        raise ModelFileError(
            f"{path}: is a pickle (torch.save) file; hwr loads only its safetensors model files, "
            "because unpickling can execute arbitrary code"
        )
    try:
        tensors = load(data)
        with_header = json.loads(data[8 : 8 + int.from_bytes(data[:8], "little")])
        header = json.loads(with_header["__metadata__"]["hwr"])
    except (SafetensorError, ValueError, KeyError, TypeError) as exc:
        raise ModelFileError(f"{path}: not a valid hwr model file (truncated or corrupt: {exc})") from None
    if header.get("format") != FORMAT or header.get("version") != VERSION:
        raise ModelFileError(f"{path}: unsupported model format {header.get('format')!r} {header.get('version')!r}")
    try:
        alphabet = Alphabet(header["alphabet"])
        network = MDLSTMNetwork(NetworkConfig.from_dict(header["network"]))
        network.load_state_dict(tensors)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ModelFileError(f"{path}: inconsistent model file ({exc})") from None
    if network.config.num_classes != len(alphabet):
        raise ModelFileError(f"{path}: network has {network.config.num_classes} classes, alphabet {len(alphabet)}")
    return network, alphabet
