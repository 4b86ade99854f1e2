"""Open Inference Protocol v2 tensors ↔ the contract's feature matrix (pure functions, no I/O).

The model's OIP signature and the wire format's names are ``lfd.oip``'s (shared with the stream).

Validation applies the contract's rules to every cell (finite numbers, ``Amount`` and ``Time`` >= 0)
and the OIP rules to the tensor (names, datatype, shape, element count); errors name the field
(a tensor or a contract feature) and the rule, with the row index when one row is at fault.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from lfd.contract import AMOUNT_FIELD, FEATURES, FLOAT32_MAX, N_FEATURES, TIME_FIELD
from lfd.model_bundle import FloatArray

# The signature's names are the shared wire format's (lfd.oip), re-exported for the service's modules.
from lfd.oip import (
    COLOUR_PARAMETER as COLOUR_PARAMETER,
)
from lfd.oip import (
    DECISION_OUTPUT as DECISION_OUTPUT,
)
from lfd.oip import (
    FEATURES_INPUT as FEATURES_INPUT,
)
from lfd.oip import (
    ID_INPUT as ID_INPUT,
)
from lfd.oip import (
    ID_OUTPUT as ID_OUTPUT,
)
from lfd.oip import (
    PROBABILITY_OUTPUT as PROBABILITY_OUTPUT,
)
from lfd.oip import (
    REASONS_FOR_FRAUD as REASONS_FOR_FRAUD,
)
from lfd.oip import (
    REASONS_OUTPUT as REASONS_OUTPUT,
)
from lfd.oip import (
    REASONS_PARAMETER as REASONS_PARAMETER,
)
from lfd.oip import (
    reasons_json as reasons_json,
)

from ..errors import InvalidInput, TooLarge

FLOAT_DTYPES: dict[str, np.dtype[Any]] = {"FP32": np.dtype("<f4"), "FP64": np.dtype("<f8")}
SIGNATURE_HELP = f"expected '{FEATURES_INPUT}' FP32/FP64 [n,{N_FEATURES}] and optional '{ID_INPUT}' BYTES [n]"


@dataclass(frozen=True)
class Tensor:
    """A decoded input tensor: numeric ``values`` (flat) for FP32/FP64, ``items`` for BYTES."""

    name: str
    datatype: str
    shape: tuple[int, ...]
    values: npt.NDArray[Any] | None = None
    items: list[bytes] | None = None


def model_metadata(name: str, version: str) -> dict[str, Any]:
    return {
        "name": name,
        "versions": [version],
        "platform": "xgboost_lightgbm_bundle",
        "inputs": [
            {"name": FEATURES_INPUT, "datatype": "FP32", "shape": [-1, N_FEATURES]},
            {"name": ID_INPUT, "datatype": "BYTES", "shape": [-1]},
        ],
        "outputs": [
            {"name": PROBABILITY_OUTPUT, "datatype": "FP32", "shape": [-1]},
            {"name": DECISION_OUTPUT, "datatype": "INT32", "shape": [-1]},
            {"name": ID_OUTPUT, "datatype": "BYTES", "shape": [-1]},
        ],
        "parameters": {"features": list(FEATURES)},
    }


def element_count(name: str, shape: Any) -> int:
    if not isinstance(shape, (list, tuple)) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise InvalidInput(name, f"shape must be a list of non-negative integers, got {shape!r}")
    return math.prod(shape)


def check_element_limit(name: str, shape: Any, max_elements: int) -> int:
    """The shape's element count, refusing (``TooLarge``: 413 / RESOURCE_EXHAUSTED) more than the limit."""
    count = element_count(name, shape)
    # [n, 30] is bounded by the batch rule (max_batch rows), whose message is the clearer one.
    rows_of_features = len(shape) == 2 and shape[1] == N_FEATURES
    if count > max_elements and not rows_of_features:
        raise TooLarge(name, f"shape {list(shape)} declares {count} elements, more than the limit of {max_elements}")
    return count


def numeric_from_raw(name: str, datatype: str, shape: tuple[int, ...], raw: bytes) -> Tensor:
    """Binary tensor data (gRPC ``raw_input_contents``, HTTP binary extension): little-endian, row-major."""
    dtype = _float_dtype(name, datatype)
    count = element_count(name, shape)
    if len(raw) != count * dtype.itemsize:
        raise InvalidInput(
            name, f"raw data has {len(raw)} bytes, shape {list(shape)} {datatype} needs {count * dtype.itemsize}"
        )
    return Tensor(name, datatype, shape, values=np.frombuffer(raw, dtype=dtype))


def numeric_from_list(name: str, datatype: str, shape: tuple[int, ...], data: Any) -> Tensor:
    """JSON ``data`` (flat or nested lists) or gRPC typed contents."""
    dtype = _float_dtype(name, datatype)
    count = element_count(name, shape)
    try:
        array = np.asarray(data)
    except (TypeError, ValueError) as e:  # ragged nesting
        raise InvalidInput(name, f"data must be a (nested) list of numbers for datatype {datatype}") from e
    if array.dtype.kind not in "fiu":  # strings ("1.5"), null, booleans are not numbers
        raise InvalidInput(name, f"data must be numbers for datatype {datatype}, got {array.dtype.kind!r}-kind values")
    values = array.reshape(-1)
    if values.size != count:
        raise InvalidInput(name, f"data has {values.size} elements, shape {list(shape)} needs {count}")
    return Tensor(name, datatype, shape, values=values.astype(dtype, copy=False))


def bytes_from_raw(name: str, shape: tuple[int, ...], raw: bytes) -> Tensor:
    """Triton's BYTES serialisation: each element a 4-byte little-endian length then the bytes."""
    _require_id_input(name)
    items: list[bytes] = []
    offset = 0
    while offset < len(raw):
        if offset + 4 > len(raw):
            raise InvalidInput(name, "BYTES data truncated inside a length prefix")
        (length,) = struct.unpack_from("<I", raw, offset)
        offset += 4
        if offset + length > len(raw):
            raise InvalidInput(name, "BYTES data truncated inside an element")
        items.append(bytes(raw[offset : offset + length]))
        offset += length
    return _bytes_tensor(name, shape, items)


def bytes_from_list(name: str, shape: tuple[int, ...], data: Any) -> Tensor:
    _require_id_input(name)
    flat = _flatten(data)
    items: list[bytes] = []
    for item in flat:
        if isinstance(item, str):
            items.append(item.encode())
        elif isinstance(item, bytes):
            items.append(item)
        else:
            raise InvalidInput(name, f"BYTES elements must be strings, got {type(item).__name__}")
    return _bytes_tensor(name, shape, items)


def wants_fraud_reasons(value: Any) -> bool:
    """The ``reasons`` request parameter: absent/"" = none, "fraud" = reasons for fraud rows."""
    if value in (None, ""):
        return False
    if value != REASONS_FOR_FRAUD:
        raise InvalidInput(REASONS_PARAMETER, f"must be {REASONS_FOR_FRAUD!r} or absent, got {value!r}")
    return True


def encode_bytes(items: list[bytes]) -> bytes:
    return b"".join(struct.pack("<I", len(item)) + item for item in items)


def features_and_ids(tensors: list[Tensor], max_batch: int) -> tuple[FloatArray, list[str] | None]:
    """Validate the request's tensors; return the contiguous float32 matrix and the ids if given."""
    by_name: dict[str, Tensor] = {}
    for tensor in tensors:
        if tensor.name not in (FEATURES_INPUT, ID_INPUT):
            raise InvalidInput(tensor.name, f"unknown input (unknown inputs are rejected; {SIGNATURE_HELP})")
        if tensor.name in by_name:
            raise InvalidInput(tensor.name, "input given twice")
        by_name[tensor.name] = tensor
    features = by_name.get(FEATURES_INPUT)
    if features is None or features.values is None:
        raise InvalidInput(FEATURES_INPUT, f"is required ({SIGNATURE_HELP})")
    matrix = feature_matrix(features, max_batch)
    ids = None
    if ID_INPUT in by_name:
        id_tensor = by_name[ID_INPUT]
        if id_tensor.items is None or id_tensor.shape not in ((len(matrix),), (len(matrix), 1)):
            raise InvalidInput(ID_INPUT, f"must be BYTES with shape [{len(matrix)}] (one id per row)")
        ids = [item.decode("utf-8", errors="replace") for item in id_tensor.items]
    return matrix, ids


def feature_matrix(tensor: Tensor, max_batch: int) -> FloatArray:
    shape = tensor.shape
    if len(shape) != 2 or shape[1] != N_FEATURES:
        raise InvalidInput(tensor.name, f"shape must be [n, {N_FEATURES}] (contract FEATURES order), got {list(shape)}")
    if shape[0] == 0:
        raise InvalidInput(tensor.name, "batch must not be empty")
    if shape[0] > max_batch:
        raise InvalidInput(tensor.name, f"batch of {shape[0]} exceeds the maximum of {max_batch}")
    assert tensor.values is not None
    matrix = tensor.values.reshape(shape)
    _check_contract_rules(matrix)
    with np.errstate(over="ignore"):  # overflow is detected below, by field and row
        features = np.ascontiguousarray(matrix, dtype=np.float32)
    if matrix.dtype != np.float32 and not np.isfinite(features).all():  # FP64 beyond float32 (found by fuzzing)
        row, col = map(int, np.argwhere(~np.isfinite(features))[0])
        raise InvalidInput(
            FEATURES[col],
            f"must be within the float32 range (|x| <= {FLOAT32_MAX:.7g}), got {float(matrix[row, col])!r}",
            row,
        )
    return features


def _check_contract_rules(matrix: npt.NDArray[Any]) -> None:
    """The contract's per-value rules, vectorised: finite everywhere, Time and Amount >= 0."""
    finite = np.isfinite(matrix)
    if not finite.all():
        row, col = map(int, np.argwhere(~finite)[0])
        raise InvalidInput(FEATURES[col], f"must be finite, got {float(matrix[row, col])!r}", row)
    for field in (AMOUNT_FIELD, TIME_FIELD):
        col = FEATURES.index(field)
        negative = np.flatnonzero(matrix[:, col] < 0)
        if negative.size:
            raise InvalidInput(field, "must be >= 0", int(negative[0]))


def _float_dtype(name: str, datatype: str) -> np.dtype[Any]:
    if name == ID_INPUT:
        raise InvalidInput(name, f"datatype must be BYTES, got {datatype}")
    dtype = FLOAT_DTYPES.get(datatype)
    if dtype is None:
        raise InvalidInput(name, f"datatype must be FP32 or FP64, got {datatype!r}")
    return dtype


def _require_id_input(name: str) -> None:
    if name != ID_INPUT:
        raise InvalidInput(name, "datatype must be FP32 or FP64, got 'BYTES'")


def _bytes_tensor(name: str, shape: tuple[int, ...], items: list[bytes]) -> Tensor:
    count = element_count(name, shape)
    if len(items) != count:
        raise InvalidInput(name, f"has {len(items)} elements, shape {list(shape)} needs {count}")
    return Tensor(name, "BYTES", shape, items=items)


def _flatten(data: Any) -> list[Any]:
    if not isinstance(data, list):
        return [data]
    flat: list[Any] = []
    for item in data:
        flat.extend(_flatten(item) if isinstance(item, list) else [item])
    return flat
