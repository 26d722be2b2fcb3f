"""Starts MLServer on a model folder, with the binary tensor data extension on its REST server.

    python serve.py FOLDER

FOLDER holds MLServer's settings.json and model-settings.json (test/fixtures/kserve). Ports come
from MLSERVER_HTTP_PORT and MLSERVER_GRPC_PORT; logs go to standard output.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mlserver.rest.server as rest_server  # noqa: E402
from binary_tensor_data import BinaryTensorData  # noqa: E402
from mlserver.cli.main import main  # noqa: E402

_create_app = rest_server.create_app


def create_app(*args, **kwargs):
    """MLServer's REST app, wrapped in the binary tensor data middleware (outermost)."""
    app = _create_app(*args, **kwargs)
    app.add_middleware(BinaryTensorData)
    return app


rest_server.create_app = create_app

if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: serve.py FOLDER")
    sys.argv = ["mlserver", "start", sys.argv[1]]
    main()
