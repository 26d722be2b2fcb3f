"""The decode reference: Pillow on libjpeg-turbo with draft mode (DCT-domain scaling) and a
bilinear resize to the model size, one image at a time on one thread. Prints one JSON line:
{"imagesPerSecond": [...one figure per run...]}. Usage: pillow_decode.py SIZE RUNS FILE..."""
import io
import json
import sys
import time

from PIL import Image

size = int(sys.argv[1])
runs = int(sys.argv[2])
blobs = [open(f, "rb").read() for f in sys.argv[3:]]
rates = []
for _ in range(runs):
    started = time.perf_counter()
    for blob in blobs:
        im = Image.open(io.BytesIO(blob))
        im.draft("RGB", (size, size))
        im = im.convert("RGB").resize((size, size), Image.BILINEAR)
        im.tobytes()
    rates.append(len(blobs) / (time.perf_counter() - started))
print(json.dumps({"imagesPerSecond": rates}))
