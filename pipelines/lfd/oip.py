"""The OIP v2 REST wire format our service speaks and our stream sends, both halves in one module.

=========  ============================================  ====================================================
           built by                                      read by
=========  ============================================  ====================================================
request    ``build_binary_request`` (the stream's        ``split_binary_request`` (the service; it then
           ``OipBatchClient``)                           decodes and validates the tensors, ``scoring.oip``)
response   ``build_infer_response`` (the service)        ``parse_infer_response`` (the stream)
=========  ============================================  ====================================================

The model's signature (also served by ``/v2/models/{name}`` and gRPC ``ModelMetadata``): input ``input``
FP32/FP64 ``[n, 30]`` (``lfd.contract.FEATURES`` order) and optional ``id`` BYTES ``[n]``; outputs
``fraud_probability`` FP32 ``[n]``, ``decision`` INT32 ``[n]`` (1 = fraud), ``id`` when ids were sent, and, with
request parameter ``reasons: "fraud"``, ``reasons`` BYTES ``[n]`` (per row a JSON list of reason codes, ``[]``
for rows decided legit); response parameter ``colour``: the blue-green colour that scored, when it has one.

Triton's binary-data extension (what ``tritonclient.http`` sends by default): the body is a JSON header of
``Inference-Header-Content-Length`` bytes followed by the raw little-endian tensors, in input order, for every
input whose ``parameters.binary_data_size`` is set. Responses are JSON.

Standard library, numpy and orjson only: the PyFlink environment imports it (and has all three).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from lfd.contract import field_error

FEATURES_INPUT = "input"
ID_INPUT = "id"
PROBABILITY_OUTPUT = "fraud_probability"
DECISION_OUTPUT = "decision"
ID_OUTPUT = "id"
REASONS_OUTPUT = "reasons"
#: Request parameter asking for reason codes; its only value is "fraud" (reasons for rows decided fraud).
REASONS_PARAMETER = "reasons"
REASONS_FOR_FRAUD = "fraud"
COLOUR_PARAMETER = "colour"
BINARY_DATA_SIZE = "binary_data_size"
HEADER_LENGTH = "Inference-Header-Content-Length"
BINARY_CONTENT_TYPE = "application/octet-stream"


class OipFormatError(ValueError):
    """A body that does not have the wire format's shape; ``field`` and ``rule`` say where and why."""

    def __init__(self, field: str, rule: str) -> None:
        self.field = field
        self.rule = rule
        super().__init__(field_error(field, rule))


def infer_url(base: str, model_name: str) -> str:
    return f"{base.rstrip('/')}/v2/models/{model_name}/infer"


# --- request ---------------------------------------------------------------------------------------


def build_binary_request(features: npt.NDArray[np.float64], *, fraud_reasons: bool) -> tuple[bytes, dict[str, str]]:
    """The body of an infer request carrying ``features`` as one raw FP64 tensor, and its HTTP headers."""
    matrix = np.ascontiguousarray(features, dtype="<f8")
    header: dict[str, Any] = {
        "inputs": [
            {
                "name": FEATURES_INPUT,
                "datatype": "FP64",
                "shape": list(matrix.shape),
                "parameters": {BINARY_DATA_SIZE: matrix.nbytes},
            }
        ]
    }
    if fraud_reasons:
        header["parameters"] = {REASONS_PARAMETER: REASONS_FOR_FRAUD}
    head = json.dumps(header, separators=(",", ":")).encode()
    headers = {HEADER_LENGTH: str(len(head)), "Content-Type": BINARY_CONTENT_TYPE}
    return head + matrix.tobytes(), headers


def split_binary_request(body: bytes, header_length: str | None) -> tuple[dict[str, Any], bytes]:
    """An infer request body → its JSON header (a dict) and the binary tensor data after it (``b""`` for a
    plain JSON request, ``header_length`` None). Raises ``OipFormatError`` for a body of another shape."""
    json_part, binary = body, b""
    if header_length is not None:
        try:
            n = int(header_length)
        except ValueError as e:
            raise OipFormatError(HEADER_LENGTH, "must be an integer") from e
        if not 0 <= n <= len(body):
            raise OipFormatError(HEADER_LENGTH, f"{n} is outside the body of {len(body)} bytes")
        json_part, binary = body[:n], body[n:]
    try:
        doc = orjson.loads(json_part)
    except orjson.JSONDecodeError:
        # the standard parser also takes the NaN/Infinity tokens careless clients send, so the tensor
        # rules reject those by field instead of as bad JSON (orjson: ~5x faster on a 100-row body)
        try:
            doc = json.loads(json_part)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise OipFormatError("body", f"must be a JSON inference request ({e})") from e
    if not isinstance(doc, dict):
        raise OipFormatError("body", "must be a JSON object with 'inputs'")
    return doc, binary


# --- response --------------------------------------------------------------------------------------


def reasons_json(reasons: list[list[Any]]) -> list[str]:
    """One compact JSON list per row (the ``reasons`` BYTES output)."""
    return [json.dumps(row, separators=(",", ":")) for row in reasons]


def build_infer_response(
    model_name: str,
    model_version: str,
    request_id: str,
    proba: npt.NDArray[Any],
    decision: npt.NDArray[Any],
    ids: list[str] | None,
    *,
    reasons: list[list[Any]] | None = None,
    colour: str = "",
) -> dict[str, Any]:
    n = len(proba)
    outputs: list[dict[str, Any]] = [
        {"name": PROBABILITY_OUTPUT, "datatype": "FP32", "shape": [n], "data": proba.tolist()},
        {"name": DECISION_OUTPUT, "datatype": "INT32", "shape": [n], "data": decision.tolist()},
    ]
    if ids is not None:
        outputs.append({"name": ID_OUTPUT, "datatype": "BYTES", "shape": [n], "data": ids})
    if reasons is not None:
        outputs.append({"name": REASONS_OUTPUT, "datatype": "BYTES", "shape": [n], "data": reasons_json(reasons)})
    response: dict[str, Any] = {"model_name": model_name, "model_version": model_version, "outputs": outputs}
    if colour:
        response["parameters"] = {COLOUR_PARAMETER: colour}
    if request_id:
        response["id"] = request_id
    return response


@dataclass(frozen=True)
class InferAnswer:
    """A JSON infer response, read: one entry per row sent (``reasons`` are JSON lists, as sent)."""

    proba: list[float]
    decision: list[int]
    reasons: list[str] | None
    model_name: str
    model_version: str
    colour: str


def parse_infer_response(doc: Any, rows: int) -> InferAnswer:
    """A decoded JSON infer response for ``rows`` rows → ``InferAnswer``; ``OipFormatError`` if it does not fit."""
    try:
        outputs = {o["name"]: o["data"] for o in doc["outputs"]}
        proba, decision = outputs[PROBABILITY_OUTPUT], outputs[DECISION_OUTPUT]
        reasons = outputs.get(REASONS_OUTPUT)
        colour = (doc.get("parameters") or {}).get(COLOUR_PARAMETER, "")
        model_name, model_version = str(doc["model_name"]), str(doc.get("model_version", ""))
    except (KeyError, TypeError, AttributeError) as e:
        raise OipFormatError("outputs", f"must hold {PROBABILITY_OUTPUT!r} and {DECISION_OUTPUT!r} ({e!r})") from e
    for name, values in ((PROBABILITY_OUTPUT, proba), (DECISION_OUTPUT, decision), (REASONS_OUTPUT, reasons)):
        if values is not None and (not isinstance(values, list) or len(values) != rows):
            got = len(values) if isinstance(values, list) else type(values).__name__
            raise OipFormatError(name, f"must have one value per row sent ({rows}), got {got}")
    return InferAnswer(proba, decision, reasons, model_name, model_version, str(colour))
