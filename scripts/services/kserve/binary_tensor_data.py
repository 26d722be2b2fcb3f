"""The KServe v2 binary tensor data extension for MLServer's REST server, as ASGI middleware.

MLServer (1.7) accepts raw tensor bytes over gRPC but only JSON tensors over REST. This middleware
wraps its REST app and speaks the extension on `POST /v2/models/{name}[/versions/{v}]/infer`:

- a request whose `Inference-Header-Content-Length` header is set carries a JSON header of that
  many bytes, then the bytes of every input whose `parameters.binary_data_size` is set, in input
  order (little-endian, row-major; BYTES elements each prefixed with a 4-byte little-endian length).
  Those inputs are turned into JSON `data` before MLServer sees the request;
- outputs asked for in binary (`parameters.binary_data: true` on a requested output, or
  `parameters.binary_data_output: true` on the request) leave MLServer as JSON and are sent back
  the same way: the JSON header without their `data`, with `binary_data_size` set, then their bytes,
  and the `Inference-Header-Content-Length` response header.

Malformed framing is answered with HTTP 400 and `{"error": ...}`, like MLServer's own errors.
"""

import re
import struct
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import orjson

INFER_PATH = re.compile(r"^/v2/models/[^/]+(/versions/[^/]+)?/infer$")
HEADER_LENGTH = b"inference-header-content-length"

# Little-endian element types of the fixed-size datatypes.
DTYPES = {
    "BOOL": np.dtype("?"),
    "UINT8": np.dtype("u1"),
    "UINT16": np.dtype("<u2"),
    "UINT32": np.dtype("<u4"),
    "UINT64": np.dtype("<u8"),
    "INT8": np.dtype("i1"),
    "INT16": np.dtype("<i2"),
    "INT32": np.dtype("<i4"),
    "INT64": np.dtype("<i8"),
    "FP16": np.dtype("<f2"),
    "FP32": np.dtype("<f4"),
    "FP64": np.dtype("<f8"),
}


class FramingError(Exception):
    """The request's binary framing does not add up."""


class BinaryTensorData:
    """ASGI middleware: binary tensors in and out of the wrapped KServe v2 REST app."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST" or not INFER_PATH.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        header_length = _header(scope, HEADER_LENGTH)
        try:
            request = decode_request(body, header_length)
        except FramingError as error:
            await _send(send, 400, orjson.dumps({"error": str(error)}), b"application/json")
            return
        binary = binary_outputs(request)
        if header_length is None and not binary:
            # Plain JSON both ways: MLServer gets the body as it came.
            await self.app(scope, _replay(body, receive), send)
            return
        json_body = orjson.dumps(request, option=orjson.OPT_SERIALIZE_NUMPY)
        headers = [
            (k, v)
            for k, v in scope["headers"]
            if k not in (HEADER_LENGTH, b"content-length", b"content-type", b"content-encoding", b"accept-encoding")
        ]
        headers += [(b"content-length", str(len(json_body)).encode()), (b"content-type", b"application/json")]
        inner = dict(scope, headers=headers)
        if not binary:
            await self.app(inner, _replay(json_body, receive), send)
            return
        status, response_headers, response_body = await _capture(self.app, inner, _replay(json_body, receive))
        if status != 200:
            await _send(send, status, response_body, _content_type(response_headers))
            return
        header, blobs = encode_response(orjson.loads(response_body), binary)
        extra = [] if not blobs else [(HEADER_LENGTH, str(len(header)).encode())]
        content_type = b"application/octet-stream" if blobs else b"application/json"
        await _send(send, 200, header + b"".join(blobs), content_type, extra)


def decode_request(body: bytes, header_length: Optional[bytes]) -> Dict[str, Any]:
    """The request as JSON, with every binary input's bytes turned into its `data`."""
    if header_length is None:
        length = len(body)
    else:
        try:
            length = int(header_length)
        except ValueError:
            raise FramingError(f"Inference-Header-Content-Length is {header_length!r}, not a number")
        if not 0 < length <= len(body):
            raise FramingError(f"Inference-Header-Content-Length is {length}, the body has {len(body)} bytes")
    try:
        request = orjson.loads(body[:length])
    except orjson.JSONDecodeError as error:
        raise FramingError(f"the inference header is not valid JSON ({error})")
    if not isinstance(request, dict) or not isinstance(request.get("inputs"), list):
        raise FramingError("the inference header has no `inputs` list")
    offset = length
    for tensor in request["inputs"]:
        parameters = tensor.get("parameters") or {}
        size = parameters.pop("binary_data_size", None)
        if size is None:
            continue
        if header_length is None:
            raise FramingError(f"input `{tensor.get('name')}` has binary_data_size but the request has no Inference-Header-Content-Length")
        if not isinstance(size, int) or size < 0 or offset + size > len(body):
            raise FramingError(f"input `{tensor.get('name')}`: binary_data_size {size} runs past the {len(body)}-byte body")
        tensor["data"] = _decode_tensor(tensor, body[offset : offset + size])
        offset += size
    if offset != len(body):
        raise FramingError(f"the body has {len(body) - offset} bytes after the last binary input")
    return request


def binary_outputs(request: Dict[str, Any]) -> Dict[str, bool]:
    """Which outputs go back in binary: output name → True; `*` stands for outputs not named."""
    default = bool((request.get("parameters") or {}).get("binary_data_output", False))
    wanted = {"*": default}
    for output in request.get("outputs") or []:
        flag = (output.get("parameters") or {}).pop("binary_data", None)
        wanted[output.get("name")] = default if flag is None else bool(flag)
    return wanted if any(wanted.values()) else {}


def encode_response(response: Dict[str, Any], binary: Dict[str, bool]) -> Tuple[bytes, List[bytes]]:
    """The JSON header and the bytes of each output sent in binary, in output order."""
    blobs = []
    for output in response.get("outputs") or []:
        if not binary.get(output.get("name"), binary.get("*", False)) or "data" not in output:
            continue
        blob = _encode_tensor(output.get("datatype"), output.pop("data"))
        output["parameters"] = {**(output.get("parameters") or {}), "binary_data_size": len(blob)}
        blobs.append(blob)
    return orjson.dumps(response), blobs


def _decode_tensor(tensor: Dict[str, Any], raw: bytes):
    datatype = tensor.get("datatype")
    count = int(np.prod(tensor.get("shape") or [0]))
    if datatype == "BYTES":
        items, offset = [], 0
        while offset < len(raw):
            if offset + 4 > len(raw):
                raise FramingError(f"input `{tensor.get('name')}`: truncated BYTES element length")
            (size,) = struct.unpack_from("<I", raw, offset)
            items.append(raw[offset + 4 : offset + 4 + size].decode("utf-8", "replace"))
            offset += 4 + size
        if len(items) != count:
            raise FramingError(f"input `{tensor.get('name')}`: {len(items)} BYTES elements for shape {tensor.get('shape')}")
        return items
    dtype = DTYPES.get(datatype)
    if dtype is None:
        raise FramingError(f"input `{tensor.get('name')}`: datatype {datatype!r} cannot travel in binary")
    if len(raw) != count * dtype.itemsize:
        raise FramingError(
            f"input `{tensor.get('name')}`: binary_data_size {len(raw)} is not {count} {datatype} elements of shape {tensor.get('shape')}"
        )
    array = np.frombuffer(raw, dtype=dtype)
    # float16 is widened for the JSON encoder; MLServer narrows it again by the datatype.
    return array.astype(np.float32) if datatype == "FP16" else array


def _encode_tensor(datatype: Optional[str], data) -> bytes:
    if datatype == "BYTES":
        items = [d.encode("utf-8") if isinstance(d, str) else bytes(d) for d in np.asarray(data, dtype=object).reshape(-1)]
        return b"".join(struct.pack("<I", len(i)) + i for i in items)
    dtype = DTYPES.get(datatype or "")
    if dtype is None:
        raise ValueError(f"output datatype {datatype!r} cannot travel in binary")
    return np.asarray(data).reshape(-1).astype(dtype).tobytes()


def _header(scope, name: bytes) -> Optional[bytes]:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


def _content_type(headers) -> bytes:
    for key, value in headers:
        if key.lower() == b"content-type":
            return value
    return b"application/json"


async def _read_body(receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive):
    sent = False

    async def replayed():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def _capture(app, scope, receive):
    status, headers, chunks = 500, [], []

    async def send(message):
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status, headers = message["status"], message.get("headers", [])
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, headers, b"".join(chunks)


async def _send(send, status: int, body: bytes, content_type: bytes, extra=()):
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
