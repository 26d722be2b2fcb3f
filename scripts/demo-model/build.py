#!/usr/bin/env python3
"""Reproducible end-to-end build of the Centaur demo model (models/demo/).

1. Generates synthetic training / validation / holdout images with the TypeScript
   generator (scripts/demo-model/generate.ts -> src/demo/generate-images.ts), which also
   writes each set as the exact serving-side tensor (sharp, stretch to 224x224, uint8 NHWC).
2. Trains Keras MobileNetV2 (weights=None, pooling='avg') from scratch on 5 classes
   (horse, human, dog, bird, car) with inputs scaled by 1/255.
3. Builds the served model: backbone -> 1280-d `embedding`; Dense(2, softmax) head
   `probabilities` made of the horse and human rows of the 5-class head (so it gives
   p(horse | horse or human) and p(human | horse or human)).
4. Exports it to ONNX with tf2onnx (opset 13, dynamic batch, input `input`,
   outputs `embedding` and `probabilities`), measures holdout accuracy with
   onnxruntime and writes models/demo/manifest.json.

Run from the repository root:  .venv/bin/python scripts/demo-model/build.py
"""
import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
ALL_CLASSES = ['horse', 'human', 'dog', 'bird', 'car']  # training classes; served: first two
SERVED = ['horse', 'human']
SIZE = 224


def log(msg):
    print(f'[{time.strftime("%H:%M:%S")}] {msg}', flush=True)


def generate(work, name, count, seed, classes, width, height, quality=85):
    """Runs the TS generator and loads the serving-equivalent uint8 tensor it writes."""
    out = os.path.join(work, name)
    tensor = os.path.join(work, f'{name}.u8')
    cmd = ['npx', '--no-install', 'tsx', 'scripts/demo-model/generate.ts', '--out', out, '--count', str(count),
           '--seed', str(seed), '--classes', ','.join(classes), '--width', str(width), '--height', str(height),
           '--quality', str(quality), '--tensor', tensor]
    subprocess.run(cmd, cwd=ROOT, check=True)
    with open(tensor + '.json') as f:
        meta = json.load(f)
    x = np.fromfile(tensor, dtype=np.uint8).reshape(meta['shape'])
    y = np.array([ALL_CLASSES.index(label) for label in meta['labels']], dtype=np.int64)
    return x, y, meta['paths']


def pil_tensor(paths):
    """Decodes JPEGs with Pillow and stretches them to 224x224 bilinear (the sharp-equivalent path, independent of sharp)."""
    from PIL import Image
    arr = np.empty((len(paths), SIZE, SIZE, 3), dtype=np.float32)
    for i, p in enumerate(paths):
        with Image.open(p) as im:
            arr[i] = np.asarray(im.convert('RGB').resize((SIZE, SIZE), Image.BILINEAR), dtype=np.float32) / 255.0
    return arr


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--alpha', type=float, default=1.0)
    ap.add_argument('--served-per-class', type=int, default=3500, help='training images per served class (horse, human)')
    ap.add_argument('--extra-per-class', type=int, default=600, help='training images per extra class (dog, bird, car)')
    ap.add_argument('--epochs', type=int, default=4)
    ap.add_argument('--batch', type=int, default=32)
    ap.add_argument('--lr', type=float, default=1e-3)
    ap.add_argument('--seed', type=int, default=20240601, help='training seed (data and weights)')
    ap.add_argument('--val-seed', type=int, default=777001)
    ap.add_argument('--holdout-seed', type=int, default=999331)
    ap.add_argument('--holdout-size', type=int, default=600)
    ap.add_argument('--work', default=os.path.join(ROOT, '.cache', 'demo-model'))
    ap.add_argument('--out', default=os.path.join(ROOT, 'models', 'demo'))
    args = ap.parse_args()

    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(os.cpu_count() or 2)
    tf.config.threading.set_inter_op_parallelism_threads(2)
    tf.keras.utils.set_random_seed(args.seed)
    t0 = time.time()

    if os.path.isdir(args.work):
        shutil.rmtree(args.work)
    os.makedirs(args.work)
    os.makedirs(args.out, exist_ok=True)

    # --- data: several frame sizes so the 224x224 stretch sees different aspect ratios
    log('generating data')
    parts = []
    sizes = [(320, 240, 0.7), (256, 256, 0.15), (240, 320, 0.15)]
    for k, (w, h, share) in enumerate(sizes):
        parts.append(generate(args.work, f'train-served-{k}', int(round(2 * args.served_per_class * share)), args.seed + k, SERVED, w, h))
        if args.extra_per_class > 0:
            parts.append(generate(args.work, f'train-extra-{k}', int(round(3 * args.extra_per_class * share)), args.seed + 100 + k, ALL_CLASSES[2:], w, h))
    x_train = np.concatenate([p[0] for p in parts])
    y_train = np.concatenate([p[1] for p in parts])
    n_train = len(x_train)
    x_val, y_val, _ = generate(args.work, 'val', 400, args.val_seed, SERVED, 320, 240)
    x_hold, y_hold, hold_paths = generate(args.work, 'holdout', args.holdout_size, args.holdout_seed, SERVED, 320, 240)
    log(f'train {n_train} images {np.bincount(y_train, minlength=len(ALL_CLASSES)).tolist()}; val {len(x_val)}; holdout {len(x_hold)}')

    # --- model
    base = tf.keras.applications.MobileNetV2(input_shape=(SIZE, SIZE, 3), include_top=False, weights=None,
                                             pooling='avg', alpha=args.alpha)
    for layer in base.layers:
        if isinstance(layer, tf.keras.layers.BatchNormalization):
            layer.momentum = 0.9  # Keras default 0.999 needs far more steps than this short run for usable moving stats
    head = tf.keras.layers.Dense(len(ALL_CLASSES), activation='softmax', name='classes')
    train_model = tf.keras.Model(base.input, head(base.output))
    steps_per_epoch = int(np.ceil(n_train / args.batch))
    schedule = tf.keras.optimizers.schedules.CosineDecay(args.lr, decay_steps=steps_per_epoch * args.epochs, alpha=0.02)
    train_model.compile(optimizer=tf.keras.optimizers.Adam(schedule), loss='sparse_categorical_crossentropy', metrics=['accuracy'])

    class Batches(tf.keras.utils.Sequence):
        def __init__(self):
            super().__init__()
            self.rng = np.random.default_rng(args.seed)
            self.order = self.rng.permutation(n_train)

        def __len__(self):
            return steps_per_epoch

        def __getitem__(self, i):
            idx = np.sort(self.order[i * args.batch:(i + 1) * args.batch])
            return x_train[idx].astype(np.float32) / 255.0, y_train[idx]

        def on_epoch_end(self):
            self.order = self.rng.permutation(n_train)

    def served_accuracy(model, x, y):
        probs = model.predict(x.astype(np.float32) / 255.0, batch_size=64, verbose=0)
        return float(np.mean(np.argmax(probs[:, :2], axis=1) == y))

    class ValLog(tf.keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            log(f'epoch {epoch + 1}: loss {logs["loss"]:.4f} train-acc {logs["accuracy"]:.4f} '
                f'val horse/human acc {served_accuracy(self.model, x_val, y_val):.4f}')

    log(f'training MobileNetV2 alpha={args.alpha} ({base.count_params()} backbone params) for {args.epochs} epochs x {steps_per_epoch} steps')
    t_train = time.time()
    train_model.fit(Batches(), epochs=args.epochs, verbose=2, callbacks=[ValLog()])
    train_seconds = time.time() - t_train
    log(f'training took {train_seconds / 60:.1f} min')
    train_model.save_weights(os.path.join(args.work, 'trained.weights.h5'))

    # --- served model: embedding + 2-class head taken from the horse/human rows of the 5-class head
    w, b = head.get_weights()
    inp = tf.keras.Input((SIZE, SIZE, 3), name='input')
    emb = tf.keras.layers.Activation('linear', name='embedding')(base(inp))
    dense2 = tf.keras.layers.Dense(2, activation='softmax', name='probabilities')
    probs = dense2(emb)
    dense2.set_weights([w[:, :2], b[:2]])
    served = tf.keras.Model(inp, [emb, probs], name='horse_or_human')
    keras_hold = float(np.mean(np.argmax(served.predict(x_hold.astype(np.float32) / 255.0, batch_size=64, verbose=0)[1], axis=1) == y_hold))
    log(f'keras holdout accuracy {keras_hold:.4f}')

    # --- ONNX export
    import onnx
    import tf2onnx
    onnx_path = os.path.join(args.out, 'model.onnx')
    spec = (tf.TensorSpec((None, SIZE, SIZE, 3), tf.float32, name='input'),)
    model_proto, _ = tf2onnx.convert.from_keras(served, input_signature=spec, opset=13)
    rename = {}
    for o, want in zip(model_proto.graph.output, ['embedding', 'probabilities']):
        rename[o.name] = want
    for i in model_proto.graph.input:
        rename[i.name] = 'input'
    for node in model_proto.graph.node:
        node.input[:] = [rename.get(n, n) for n in node.input]
        node.output[:] = [rename.get(n, n) for n in node.output]
    for v in list(model_proto.graph.input) + list(model_proto.graph.output):
        v.name = rename.get(v.name, v.name)
    model_proto.doc_string = 'Centaur demo horse-or-human MobileNetV2 trained on synthetic figures'
    onnx.checker.check_model(model_proto)
    onnx.save(model_proto, onnx_path)
    log(f'wrote {onnx_path} ({os.path.getsize(onnx_path) / 1e6:.2f} MB)')

    # --- holdout accuracy with onnxruntime, on the sharp tensor and on an independent Pillow resize
    import onnxruntime as ort
    sess = ort.InferenceSession(onnx_path, providers=['CPUExecutionProvider'])
    names_in = [i.name for i in sess.get_inputs()]
    names_out = [o.name for o in sess.get_outputs()]
    assert names_in == ['input'] and sorted(names_out) == ['embedding', 'probabilities'], (names_in, names_out)

    def ort_accuracy(x_float):
        preds = []
        for i in range(0, len(x_float), 32):
            emb_o, p_o = sess.run(['embedding', 'probabilities'], {'input': x_float[i:i + 32]})
            assert emb_o.shape[1] == 1280 and p_o.shape[1] == 2
            preds.append(np.argmax(p_o, axis=1))
        return float(np.mean(np.concatenate(preds) == y_hold))

    acc_sharp = ort_accuracy(x_hold.astype(np.float32) / 255.0)
    acc_pil = ort_accuracy(pil_tensor(hold_paths))
    log(f'onnxruntime holdout accuracy: sharp-resized {acc_sharp:.4f}, Pillow-bilinear-resized {acc_pil:.4f}')

    with open(onnx_path, 'rb') as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    manifest = {
        'name': 'horse-or-human',
        'version': '1',
        'format': 'onnx',
        'file': 'model.onnx',
        'sha256': sha,
        'createdAt': dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.000Z'),
        'input': {'name': 'input', 'width': SIZE, 'height': SIZE, 'channels': 3, 'layout': 'NHWC', 'dtype': 'float32',
                  'scale': 'unit', 'fit': 'fill', 'kernel': 'linear'},
        'outputs': {'probabilities': 'probabilities', 'embedding': 'embedding'},
        'classes': SERVED,
        'architecture': f'MobileNetV2 alpha={args.alpha}, 1280-d average-pooled embedding, dense softmax head',
        'metrics': {'holdoutAccuracy': round(acc_pil, 4), 'holdoutSize': len(y_hold), 'holdoutSeed': args.holdout_seed},
        'training': {'data': 'procedurally generated figures (centaur generate-images)', 'seed': args.seed,
                     'images': int(n_train), 'epochs': args.epochs},
    }
    with open(os.path.join(args.out, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=2)
        f.write('\n')
    report = {'alpha': args.alpha, 'backboneParams': int(base.count_params()), 'servedParams': int(served.count_params()),
              'onnxBytes': os.path.getsize(onnx_path), 'trainImages': int(n_train),
              'trainClassCounts': np.bincount(y_train, minlength=len(ALL_CLASSES)).tolist(), 'epochs': args.epochs,
              'trainMinutes': round(train_seconds / 60, 1), 'totalMinutes': round((time.time() - t0) / 60, 1),
              'kerasHoldout': keras_hold, 'ortHoldoutSharp': acc_sharp, 'ortHoldoutPillow': acc_pil}
    with open(os.path.join(args.work, 'report.json'), 'w') as f:
        json.dump(report, f, indent=2)
    log(f'done: {json.dumps(report)}')


if __name__ == '__main__':
    sys.exit(main())
