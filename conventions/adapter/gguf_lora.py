"""A PEFT LoRA adapter as a GGUF LoRA file, which llama.cpp, Ollama and LM Studio load next to the base `.gguf`.

An adapter for a GGUF base is trained with peft on the base's de-quantized float model (`import-model`);
`export_gguf_lora` then writes the same low-rank matrices under the base file's tensor names:

    llama-server -m base.gguf --lora adapter.gguf
    # Ollama Modelfile:   FROM ./base.gguf
    #                     ADAPTER ./adapter.gguf

llama.cpp adds `alpha / rank * B (A x)` to an adapted weight's output, as peft adds `scaling * B (A x)`.
Two things differ from the peft files. Names: `base_model.model.model.layers.0.self_attn.q_proj` is
`blk.0.attn_q.weight`. And, in llama-architecture files, the row order of q and k: llama.cpp stores them
permuted for its rotary embedding and transformers undoes that when it reads the file, so the B matrices
of q and k are given that permutation back here.

The file records the base it was made for (its `general.name` and the SHA-256 of the `.gguf`);
`check_lora_for_base` refuses a LoRA made for another base model before llama.cpp loads it.
"""

from __future__ import annotations

import json
import math
import mmap
import os
import re
import struct
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gguf
import numpy as np

from copilot_index.indexer import CopilotIndexError

from ..registry import file_sha256

KEY_BASE_SHA256 = "copilot_index.base_model.sha256"
KEY_BASE_FILE = "copilot_index.base_model.file"
GGUF_LORA = "adapter.gguf"
"""The GGUF LoRA's file name in an adapter's version folder, next to its PEFT files."""
PERMUTED_QK_ARCHITECTURES = frozenset({"llama"})
"""GGUF architectures whose q/k rows transformers un-permutes on import (its `LlamaTensorProcessor`)."""
_PEFT_KEY = re.compile(r"^(?:base_model\.model\.)?(?P<module>.+)\.lora_(?P<part>A|B)(?:\.[^.]+)?\.weight$")
_DIGESTS: dict[tuple[str, int, int], str] = {}


class GgufLoraError(CopilotIndexError):
    """A LoRA cannot be written as, or read from, a GGUF file for this base model."""


@dataclass(frozen=True)
class GgufBase:
    """What a LoRA must match in its base `.gguf`: the architecture and each weight's shape (ggml order: in, out)."""

    path: Path
    name: str
    architecture: str
    blocks: int
    heads: int
    kv_heads: int
    shapes: dict[str, tuple[int, ...]]

    @property
    def sha256(self) -> str:
        return cached_digest(self.path)

    def label(self) -> str:
        return f"{self.name!r} (sha256 {self.sha256[:12]})"


@dataclass(frozen=True)
class ExportedLora:
    path: str
    sha256: str
    base_name: str
    base_sha256: str
    tensors: int
    rank: int
    alpha: float

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def cached_digest(path: Path) -> str:
    """SHA-256 of a file, remembered while its size and modification time stay the same."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _DIGESTS:
        _DIGESTS[key] = file_sha256(path)
    return _DIGESTS[key]


_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9


@dataclass(frozen=True)
class GgufHeader:
    """A GGUF file's metadata (an array as its length) and tensor shapes (ggml order), read without the data."""

    path: Path
    fields: dict[str, Any]
    shapes: dict[str, tuple[int, ...]]

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, default)


def read_gguf(path: Path, what: str) -> GgufHeader:
    """The header of the GGUF file at `path`, or one sentence naming it when it is missing, not GGUF, or damaged.

    Only the header is parsed and a vocabulary's arrays are skipped, not decoded: milliseconds, where
    `gguf.GGUFReader` takes seconds on a model file.
    """
    if not path.is_file():
        raise GgufLoraError(f"The {what} {path} does not exist; give the path of a .gguf file.")
    with path.open("rb") as handle:
        if handle.read(4) != b"GGUF":
            raise GgufLoraError(f"The {what} {path} is not a GGUF file (it does not start with 'GGUF'); give a .gguf file.")
        try:
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
                return _parse_header(path, data)
        except (struct.error, ValueError, KeyError, OSError) as exc:
            raise GgufLoraError(f"The {what} {path} is damaged or incomplete ({exc}); write or download it again.") from exc


def _parse_header(path: Path, data: mmap.mmap) -> GgufHeader:
    version, tensor_count, kv_count = struct.unpack_from("<IQQ", data, 4)
    if version not in (2, 3):
        raise ValueError(f"GGUF version {version} is not one this reader knows")
    offset = 24

    def string() -> str:
        nonlocal offset
        (length,) = struct.unpack_from("<Q", data, offset)
        if offset + 8 + length > len(data):
            raise ValueError("a string runs past the end of the file")
        offset += 8 + length
        return data[offset - length : offset].decode("utf-8", "replace")

    def value(kind: int) -> Any:
        nonlocal offset
        if kind == _STRING:
            return string()
        if kind == _ARRAY:
            item, count = struct.unpack_from("<IQ", data, offset)
            offset += 12
            if item == _STRING:
                for _ in range(count):
                    offset += 8 + struct.unpack_from("<Q", data, offset)[0]
            else:
                offset += struct.calcsize(_SCALARS[item]) * count
            return count
        (result,) = struct.unpack_from(_SCALARS[kind], data, offset)
        offset += struct.calcsize(_SCALARS[kind])
        return result

    fields: dict[str, Any] = {}
    for _ in range(kv_count):
        key = string()
        (kind,) = struct.unpack_from("<I", data, offset)
        offset += 4
        fields[key] = value(kind)
    shapes: dict[str, tuple[int, ...]] = {}
    for _ in range(tensor_count):
        name = string()
        (dims,) = struct.unpack_from("<I", data, offset)
        shapes[name] = struct.unpack_from(f"<{dims}Q", data, offset + 4)
        offset += 4 + 8 * dims + 12  # the dimensions, then the type (u32) and the data offset (u64)
    if offset > len(data):
        raise ValueError("the tensor list runs past the end of the file")
    return GgufHeader(path, fields, shapes)


def read_base(path: Path) -> GgufBase:
    header = read_gguf(path, "base model")
    architecture = str(header.get("general.architecture", ""))
    if str(header.get("general.type", "model")) != "model":
        raise GgufLoraError(f"{path} is not a model file (general.type = {header.get('general.type')}); "
                            "give the base model's .gguf.")
    heads = int(header.get(f"{architecture}.attention.head_count", 0))
    return GgufBase(
        path=path,
        name=str(header.get("general.name", path.stem)),
        architecture=architecture,
        blocks=int(header.get(f"{architecture}.block_count", 0)),
        heads=heads,
        kv_heads=int(header.get(f"{architecture}.attention.head_count_kv", heads)),
        shapes=dict(header.shapes),
    )


def adapter_pairs(adapter: Path) -> tuple[dict[str, Any], dict[str, dict[str, np.ndarray]]]:
    """The adapter's config and its (A, B) matrices by adapted module name."""
    config_file, weights = adapter / "adapter_config.json", adapter / "adapter_model.safetensors"
    if not config_file.is_file() or not weights.is_file():
        raise GgufLoraError(f"{adapter} is not a peft adapter folder (adapter_config.json and "
                            "adapter_model.safetensors are needed); give a folder `train-adapter` wrote.")
    config = json.loads(config_file.read_text(encoding="utf-8"))
    if config.get("peft_type", "LORA") != "LORA" or config.get("use_dora"):
        raise GgufLoraError(f"{adapter} is a {'DoRA' if config.get('use_dora') else config.get('peft_type')} adapter; "
                            "only plain LoRA adapters can be written as GGUF LoRA.")
    from safetensors.torch import load_file

    pairs: dict[str, dict[str, np.ndarray]] = {}
    state = load_file(str(weights))
    for key in sorted(state, key=lambda k: "lora_embedding" not in k):  # the likeliest cause first
        match = _PEFT_KEY.match(key)
        if match is None:
            kind = "embedding LoRA" if "lora_embedding" in key else "full weights"
            raise GgufLoraError(f"{adapter} also holds {kind} ({key}); a GGUF LoRA carries only the low-rank pairs "
                                "of linear layers, so train the adapter without them.")
        pairs.setdefault(match["module"], {})[match["part"]] = state[key].float().numpy()
    for module, pair in pairs.items():
        if set(pair) != {"A", "B"}:
            raise GgufLoraError(f"{adapter} holds only half of the LoRA pair for {module}; train the adapter again.")
    return config, pairs


def module_scale(config: dict[str, Any], module: str, rank: int) -> float:
    """peft's scaling for one module: its alpha over its rank (or over the rank's square root with rsLoRA)."""
    alpha = float(config.get("lora_alpha", rank))
    for pattern, value in (config.get("alpha_pattern") or {}).items():
        if re.fullmatch(rf"(.*\.)?{pattern}", module):
            alpha = float(value)
            break
    return alpha / (math.sqrt(rank) if config.get("use_rslora") else rank)


def _rotary_rows(matrix: np.ndarray, heads: int) -> np.ndarray:
    """Rows in llama.cpp's order for q or k: per head, the two rotary halves interleaved (the inverse of
    what transformers does to these rows when it reads a llama GGUF)."""
    half = matrix.shape[0] // heads // 2
    return matrix.reshape(heads, 2, half, *matrix.shape[1:]).swapaxes(1, 2).reshape(matrix.shape)


def export_gguf_lora(adapter: Path, base_gguf: Path, out: Path) -> ExportedLora:
    """Write the peft adapter in folder `adapter` as a GGUF LoRA for `base_gguf` at `out` (whole or not at all)."""
    adapter, out = adapter.expanduser(), out.expanduser()
    base = read_base(base_gguf.expanduser())
    config, pairs = adapter_pairs(adapter)
    names = {name: arch for arch, name in gguf.MODEL_ARCH_NAMES.items()}
    if base.architecture not in names:
        raise GgufLoraError(f"{base.path} has architecture {base.architecture!r}, which the gguf package does not know.")
    tensor_map = gguf.get_tensor_name_map(names[base.architecture], base.blocks)
    trained_on = str(config.get("base_model_name_or_path") or "unknown")
    alpha = float(config.get("lora_alpha") or config.get("r") or 1)
    tensors: dict[str, np.ndarray] = {}
    for module, pair in sorted(pairs.items()):
        a, b = pair["A"], pair["B"]
        target = tensor_map.get_name(f"{module}.weight", try_suffixes=(".weight",))
        if target is None or target not in base.shapes:
            raise GgufLoraError(f"The adapter changes {module}, which has no tensor in {base.path} "
                                f"(looked for {target}); was it trained on {base.name!r}?")
        shape = base.shapes[target]
        if len(shape) != 2 or shape[0] != a.shape[1] or shape[1] != b.shape[0]:
            raise GgufLoraError(
                f"The adapter was trained on {trained_on!r}, not on {base.label()}: {module} is "
                f"{b.shape[0]}x{a.shape[1]} there but {target} is {shape[-1]}x{shape[0]} in {base.path}."
            )
        rank = a.shape[0]
        b = b * (module_scale(config, module, rank) * rank / alpha)  # llama.cpp scales by alpha / rank
        if base.architecture in PERMUTED_QK_ARCHITECTURES and target.endswith((".attn_q.weight", ".attn_k.weight")):
            b = _rotary_rows(b, base.heads if ".attn_q." in target else base.kv_heads)
        tensors[f"{target}.lora_a"] = np.ascontiguousarray(a, dtype=np.float32)
        tensors[f"{target}.lora_b"] = np.ascontiguousarray(b, dtype=np.float32)
    if not tensors:
        raise GgufLoraError(f"{adapter} holds no LoRA weights; train the adapter first.")
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, staging = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(handle)
    try:
        writer = gguf.GGUFWriter(staging, base.architecture)
        writer.add_type(gguf.GGUFType.ADAPTER)
        writer.add_name(f"{base.name} LoRA")
        writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
        writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, alpha)
        writer.add_base_model_count(1)
        writer.add_base_model_name(0, base.name)
        writer.add_string(KEY_BASE_SHA256, base.sha256)
        writer.add_string(KEY_BASE_FILE, base.path.name)
        for name, tensor in tensors.items():
            writer.add_tensor(name, tensor)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        os.chmod(staging, 0o644)
        os.replace(staging, out)
    finally:
        Path(staging).unlink(missing_ok=True)
    return ExportedLora(str(out), file_sha256(out), base.name, base.sha256, len(pairs),
                        max(p["A"].shape[0] for p in pairs.values()), alpha)


def check_lora_for_base(lora: Path, base_gguf: Path) -> None:
    """Refuse, in one sentence naming both models, a GGUF LoRA that is not for `base_gguf`; also a missing,
    damaged or non-LoRA file."""
    header = read_gguf(lora, "LoRA adapter")
    kind = (str(header.get("general.type", "")), str(header.get(gguf.Keys.Adapter.TYPE, "")))
    if kind != ("adapter", "lora"):
        raise GgufLoraError(f"{lora} is not a LoRA adapter (general.type = {kind[0] or 'unset'}); "
                            "give the .gguf that `train-adapter` or llama.cpp's LoRA converter wrote.")
    base = read_base(base_gguf)
    made_for = str(header.get("general.base_model.0.name", "an unnamed model"))
    recorded = header.get(KEY_BASE_SHA256)
    lora_label = f"{made_for!r}" + (f" (sha256 {str(recorded)[:12]})" if recorded else "")
    refusal = (f"The LoRA adapter {lora} was made for the base model {lora_label}, not for {base.label()} "
               f"in {base.path}; use it with the model it was trained on, or train an adapter for this one.")
    if str(header.get("general.architecture", "")) != base.architecture:
        raise GgufLoraError(refusal)
    if recorded is not None and str(recorded) != base.sha256:
        raise GgufLoraError(refusal)
    for name, dims in header.shapes.items():
        target, _, part = name.rpartition(".lora_")
        shape = base.shapes.get(target)
        if shape is None or len(shape) != 2 or len(dims) != 2:
            raise GgufLoraError(refusal)
        if (part == "a" and dims[0] != shape[0]) or (part == "b" and dims[1] != shape[1]):
            raise GgufLoraError(refusal)
