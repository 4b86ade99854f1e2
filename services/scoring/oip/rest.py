"""OIP v2 REST bodies ↔ tensors (pure): JSON requests, Triton's binary-data extension, JSON responses.

Binary extension (what ``tritonclient.http`` sends by default): the body is a JSON header of
``Inference-Header-Content-Length`` bytes followed by the raw tensors, in input order, for every
input whose ``parameters.binary_data_size`` is set. Responses are always JSON (clients must accept
JSON outputs; tritonclient does even when it asked for binary).
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import InvalidInput, UnprocessableInput
from . import tensors as T


def parse_infer_request(body: bytes, header_length: str | None, max_elements: int) -> tuple[list[T.Tensor], str]:
    """Decode the body of ``POST /v2/models/{name}/infer`` into tensors and the request id; a tensor
    declaring more than ``max_elements`` elements is refused (``TooLarge``) before it is decoded."""
    tensors, request_id, _ = parse_infer_request_with_parameters(body, header_length, max_elements)
    return tensors, request_id


def parse_infer_request_with_parameters(
    body: bytes, header_length: str | None, max_elements: int
) -> tuple[list[T.Tensor], str, dict[str, Any]]:
    """Like :func:`parse_infer_request`, plus the request's ``parameters`` (see ``T.REASONS_PARAMETER``)."""
    json_part, binary = body, b""
    if header_length is not None:
        try:
            n = int(header_length)
        except ValueError as e:
            raise UnprocessableInput("Inference-Header-Content-Length", "must be an integer") from e
        if not 0 <= n <= len(body):
            raise UnprocessableInput("Inference-Header-Content-Length", f"{n} is outside the body of {len(body)} bytes")
        json_part, binary = body[:n], body[n:]
    try:
        doc = json.loads(json_part)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise UnprocessableInput("body", f"must be a JSON inference request ({e})") from e
    if not isinstance(doc, dict):
        raise UnprocessableInput("body", "must be a JSON object with 'inputs'")
    inputs = doc.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise InvalidInput("inputs", f"must be a non-empty list ({T.SIGNATURE_HELP})")
    offset = 0
    decoded: list[T.Tensor] = []
    for item in inputs:
        tensor, used = _decode_input(item, binary, offset, max_elements)
        offset += used
        decoded.append(tensor)
    if offset != len(binary):
        raise InvalidInput("inputs", f"{len(binary) - offset} bytes of binary data are not claimed by any input")
    request_id = doc.get("id", "")
    parameters = doc.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise InvalidInput("parameters", "must be an object")
    return decoded, request_id if isinstance(request_id, str) else str(request_id), parameters


def _decode_input(item: Any, binary: bytes, offset: int, max_elements: int) -> tuple[T.Tensor, int]:
    if not isinstance(item, dict):
        raise InvalidInput("inputs", "each input must be an object with name, shape, datatype, data")
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidInput("inputs", "each input needs a 'name'")
    datatype, shape_value = item.get("datatype"), item.get("shape")
    if not isinstance(datatype, str):
        raise InvalidInput(name, "'datatype' is required")
    T.check_element_limit(name, shape_value, max_elements)  # validates: a list of non-negative ints
    shape = tuple(int(d) for d in shape_value or ())
    parameters = item.get("parameters") or {}
    size = parameters.get("binary_data_size") if isinstance(parameters, dict) else None
    if size is not None:
        if not isinstance(size, int) or size < 0 or offset + size > len(binary):
            raise InvalidInput(name, f"binary_data_size {size!r} does not fit the {len(binary) - offset} bytes left")
        raw = binary[offset : offset + size]
        if datatype == "BYTES":
            return T.bytes_from_raw(name, shape, raw), size
        return T.numeric_from_raw(name, datatype, shape, raw), size
    if "data" not in item:
        raise InvalidInput(name, "'data' is required (or parameters.binary_data_size with binary data)")
    if datatype == "BYTES":
        return T.bytes_from_list(name, shape, item["data"]), 0
    return T.numeric_from_list(name, datatype, shape, item["data"]), 0


def infer_response(
    model_name: str,
    model_version: str,
    request_id: str,
    proba: Any,
    decision: Any,
    ids: list[str] | None,
    *,
    reasons: list[list[Any]] | None = None,
    colour: str = "",
) -> dict[str, Any]:
    n = len(proba)
    outputs: list[dict[str, Any]] = [
        {"name": T.PROBABILITY_OUTPUT, "datatype": "FP32", "shape": [n], "data": proba.tolist()},
        {"name": T.DECISION_OUTPUT, "datatype": "INT32", "shape": [n], "data": decision.tolist()},
    ]
    if ids is not None:
        outputs.append({"name": T.ID_OUTPUT, "datatype": "BYTES", "shape": [n], "data": ids})
    if reasons is not None:
        outputs.append({"name": T.REASONS_OUTPUT, "datatype": "BYTES", "shape": [n], "data": T.reasons_json(reasons)})
    response: dict[str, Any] = {"model_name": model_name, "model_version": model_version, "outputs": outputs}
    if colour:
        response["parameters"] = {T.COLOUR_PARAMETER: colour}
    if request_id:
        response["id"] = request_id
    return response
