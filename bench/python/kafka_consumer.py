"""The plain Python consumer a data engineer would write instead of Centaur, as the outside
reference of `centaur bench kafka`: confluent-kafka, Pillow with draft mode (libjpeg-turbo scaling
in the DCT domain) and a bilinear resize, onnxruntime on the same model with the same batch size and
threads; predictions produced as JSON, offsets committed after the batch's predictions are
delivered. With --mode copy it is the raw Kafka copy loop: each value produced again unchanged.
Exits after --count input messages; prints one JSON line {"processed": n}.

Usage: kafka_consumer.py --brokers B --input T --output T --group G --count N
       [--mode infer|copy] [--format avro|bytes] [--schema FILE] [--model DIR] [--batch 32] [--threads 2]
"""
import argparse
import io
import json

import fastavro
import numpy as np
import onnxruntime as ort
from confluent_kafka import Consumer, Producer
from PIL import Image

parser = argparse.ArgumentParser()
parser.add_argument("--brokers", required=True)
parser.add_argument("--input", required=True)
parser.add_argument("--output", required=True)
parser.add_argument("--group", required=True)
parser.add_argument("--count", type=int, required=True)
parser.add_argument("--mode", choices=["infer", "copy"], default="infer")
parser.add_argument("--format", choices=["avro", "bytes"], default="avro")
parser.add_argument("--schema")
parser.add_argument("--model")
parser.add_argument("--batch", type=int, default=32)
parser.add_argument("--threads", type=int, default=2)
args = parser.parse_args()

consumer = Consumer({
    "bootstrap.servers": args.brokers,
    "group.id": args.group,
    "auto.offset.reset": "earliest",
    "enable.auto.commit": False,
})
producer = Producer({"bootstrap.servers": args.brokers, "linger.ms": 5, "acks": "all"})
consumer.subscribe([args.input])

if args.mode == "infer":
    manifest = json.load(open(f"{args.model}/manifest.json"))
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    session = ort.InferenceSession(f"{args.model}/{manifest['file']}", options, providers=["CPUExecutionProvider"])
    input_name = manifest["input"]["name"]
    output_name = manifest["outputs"]["probabilities"]
    width, height = manifest["input"]["width"], manifest["input"]["height"]
    classes = manifest["classes"]
schema = fastavro.parse_schema(json.load(open(args.schema))) if args.format == "avro" else None


def frame(message):
    """The frame's id, capture time (ms) and encoded image."""
    if schema is not None:
        record = fastavro.schemaless_reader(io.BytesIO(message.value()[5:]), schema)
        capture = record["captureTime"]
        if not isinstance(capture, int):
            capture = int(capture.timestamp() * 1000)
        return record["frameId"], capture, record["image"]
    headers = dict(message.headers() or [])
    return headers.get("id", b"").decode(), int(headers.get("capture-time", b"0")), message.value()


def pixels(image):
    im = Image.open(io.BytesIO(image))
    im.draft("RGB", (width, height))
    im = im.convert("RGB").resize((width, height), Image.BILINEAR)
    return np.asarray(im, dtype=np.float32) / 255.0


processed = 0
while processed < args.count:
    messages = [m for m in consumer.consume(num_messages=args.batch, timeout=0.05) if m.error() is None]
    if not messages:
        continue
    if args.mode == "copy":
        for m in messages:
            producer.produce(args.output, key=m.key(), value=m.value(), headers=m.headers())
            producer.poll(0)
    else:
        frames = [frame(m) for m in messages]
        batch = np.stack([pixels(image) for _, _, image in frames])
        probabilities = session.run([output_name], {input_name: batch})[0]
        for m, (frame_id, capture, _), p in zip(messages, frames, probabilities):
            best = int(np.argmax(p))
            value = {"id": frame_id, "eventTime": capture, "label": classes[best], "score": float(p[best])}
            producer.produce(args.output, key=m.key(), value=json.dumps(value).encode())
            producer.poll(0)
    producer.flush()
    consumer.commit(asynchronous=False)
    processed += len(messages)
consumer.close()
print(json.dumps({"processed": processed}))
