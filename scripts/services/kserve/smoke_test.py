"""Checks the running kserve service with Triton's own Python client (tritonclient, which MLServer
installs): binary and JSON tensors over HTTP, raw tensors over gRPC, and a 400 for a bad shape.
An independent client, so that the binary extension here and Centaur's client agree with Triton's.

    ~/.cache/centaur-services/kserve/venv/bin/python scripts/services/kserve/smoke_test.py

Ports come from CENTAUR_KSERVE_HTTP_PORT and CENTAUR_KSERVE_GRPC_PORT (8000, 8001).
"""

import os
import sys

import numpy as np
import tritonclient.grpc as triton_grpc
import tritonclient.http as triton_http
from tritonclient.utils import InferenceServerException

MODEL = "horse-or-human"
HTTP = f"127.0.0.1:{os.environ.get('CENTAUR_KSERVE_HTTP_PORT', '8000')}"
GRPC = f"127.0.0.1:{os.environ.get('CENTAUR_KSERVE_GRPC_PORT', '8001')}"


def main() -> int:
    batch = np.random.default_rng(7).random((2, 224, 224, 3), dtype=np.float32)
    results = {}
    http = triton_http.InferenceServerClient(HTTP)
    assert http.is_server_live() and http.is_model_ready(MODEL), "the server or the model is not ready"
    for binary in (True, False):
        tensor = triton_http.InferInput("input", list(batch.shape), "FP32")
        tensor.set_data_from_numpy(batch, binary_data=binary)
        outputs = [triton_http.InferRequestedOutput(name, binary_data=binary) for name in ("probabilities", "embedding")]
        response = http.infer(MODEL, [tensor], outputs=outputs)
        results[f"http {'binary' if binary else 'json'}"] = response.as_numpy("probabilities")
    grpc = triton_grpc.InferenceServerClient(GRPC)
    tensor = triton_grpc.InferInput("input", list(batch.shape), "FP32")
    tensor.set_data_from_numpy(batch)
    results["grpc raw"] = grpc.infer(MODEL, [tensor]).as_numpy("probabilities")
    reference = results["http json"]
    for name, value in results.items():
        assert value.shape == (2, 2) and np.array_equal(value, reference), f"{name}: {value} differs from {reference}"
        print(f"{name}: probabilities {value.tolist()}")
    bad = triton_http.InferInput("input", [1, 112, 224, 3], "FP32")
    bad.set_data_from_numpy(batch[:1, :112])
    try:
        http.infer(MODEL, [bad])
    except InferenceServerException as error:
        assert error.status() == "400", f"a bad shape gave {error.status()}: {error}"
        print(f"bad shape: HTTP {error.status()} {error.message()}")
    else:
        raise AssertionError("a bad shape was accepted")
    print("kserve smoke test: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
