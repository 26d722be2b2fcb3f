"""Serves the demo model on NVIDIA Triton Inference Server, started through PyTriton.

    python serve.py MODEL.onnx

PyTriton (PyPI's nvidia-pytriton) runs a real `tritonserver` with its Python backend; the model is
a Python callable that runs the ONNX file on onnxruntime, under Triton's dynamic batcher
(max_batch_size 64), as `horse-or-human` with input `input` (FP32, 224x224x3) and outputs
`probabilities` and `embedding`. Ports come from TRITON_HTTP_PORT, TRITON_GRPC_PORT and
TRITON_METRICS_PORT; logs go to standard output. The server needs this Python's shared library on
the loader path (services.sh sets LD_LIBRARY_PATH).
"""

import os
import signal
import sys

import numpy as np
import onnxruntime as ort
from pytriton.decorators import batch
from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor
from pytriton.triton import Triton, TritonConfig

MODEL = "horse-or-human"
MAX_BATCH_SIZE = 64


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: serve.py MODEL.onnx")
    session = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])

    @batch
    def infer(input):  # noqa: A002 - the tensor's name on the wire
        probabilities, embedding = session.run(["probabilities", "embedding"], {"input": input.astype(np.float32, copy=False)})
        return {"probabilities": probabilities, "embedding": embedding}

    config = TritonConfig(
        http_address="127.0.0.1",
        http_port=int(os.environ.get("TRITON_HTTP_PORT", "8100")),
        grpc_address="127.0.0.1",
        grpc_port=int(os.environ.get("TRITON_GRPC_PORT", "8101")),
        metrics_port=int(os.environ.get("TRITON_METRICS_PORT", "8102")),
    )
    # `services.sh down` sends SIGTERM: leave through the context manager, which stops tritonserver.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with Triton(config=config) as triton:
        triton.bind(
            model_name=MODEL,
            infer_func=infer,
            inputs=[Tensor(name="input", dtype=np.float32, shape=(224, 224, 3))],
            outputs=[
                Tensor(name="probabilities", dtype=np.float32, shape=(2,)),
                Tensor(name="embedding", dtype=np.float32, shape=(1280,)),
            ],
            config=ModelConfig(max_batch_size=MAX_BATCH_SIZE, batcher=DynamicBatcher(max_queue_delay_microseconds=2000)),
            strict=True,
        )
        triton.serve()


if __name__ == "__main__":
    main()
