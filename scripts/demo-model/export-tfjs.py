#!/usr/bin/env python3
"""Exports the demo model (models/demo/model.onnx) as a TensorFlow.js graph model (models/demo-tfjs/).

The Keras model that build.py trained is not kept (only its ONNX export is), and retraining is
not bit-exact, so this script rebuilds the same Keras network and fills it with the ONNX file's
own weights:

1. Builds the served network exactly as build.py does: Keras MobileNetV2(alpha=1.0,
   weights=None, pooling='avg') -> `embedding` -> Dense(2, softmax) `probabilities`, input `input`.
2. Copies the weights from the ONNX initializers, which tf2onnx named after the Keras layers.
   tf2onnx folded every BatchNorm into the convolution before it (`*_weights_fused_bn`,
   `*_bias_fused_bn`), so each convolution gets the folded kernel and its BatchNorm becomes an exact
   identity plus the folded bias (gamma 1, mean 0, variance 1 - epsilon, beta = bias).
3. Checks the Keras model against onnxruntime on generated demo images (sharp-resized, as
   served) and on random inputs: every output within 1e-5.
4. Converts it with the tensorflowjs converter (SavedModel -> graph model: BatchNorm folded again,
   convolutions fused with their bias and ReLU6), float32 weights in 4 MiB shards, and writes
   models/demo-tfjs/manifest.json (the ONNX manifest with format `tfjs`, file `model.json` and its
   sha256).
5. Runs scripts/demo-model/compare-tfjs.ts: the TF.js model in Node (tfjs-backend-wasm) against the
   onnx backend on the quick-start images.

Run from the repository root, with the packages of requirements-tfjs.txt:
  python3.11 -m venv ~/.cache/centaur-tfjs-export/venv
  ~/.cache/centaur-tfjs-export/venv/bin/pip install -r scripts/demo-model/requirements-tfjs.txt
  ~/.cache/centaur-tfjs-export/venv/bin/python scripts/demo-model/export-tfjs.py
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
SIZE = 224
TOLERANCE = 1e-5


def log(msg):
    print(f'[{time.strftime("%H:%M:%S")}] {msg}', flush=True)


def build_served(tf, alpha):
    """The served network of build.py, untrained: MobileNetV2 backbone, `embedding`, `probabilities`."""
    base = tf.keras.applications.MobileNetV2(input_shape=(SIZE, SIZE, 3), include_top=False, weights=None,
                                             pooling='avg', alpha=alpha)
    inp = tf.keras.Input((SIZE, SIZE, 3), name='input')
    emb = tf.keras.layers.Activation('linear', name='embedding')(base(inp))
    probs = tf.keras.layers.Dense(2, activation='softmax', name='probabilities')(emb)
    return base, tf.keras.Model(inp, [emb, probs], name='horse_or_human')


def onnx_weights(path):
    """The ONNX initializers by name, as numpy arrays."""
    import onnx
    from onnx import numpy_helper
    model = onnx.load(path)
    return {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}


def load_weights(tf, base, served, weights):
    """Copies the folded ONNX weights into the Keras layers; returns how many values were set."""
    prefix = f'{served.name}/{base.name}/'
    used = set()

    def take(name):
        if name not in weights:
            raise KeyError(f'the ONNX file has no initializer {name}')
        used.add(name)
        return weights[name]

    layers = base.layers
    count = 0
    for i, layer in enumerate(layers):
        if isinstance(layer, tf.keras.layers.DepthwiseConv2D):
            kernel = take(f'{prefix}{layer.name}/depthwise_weights_fused_bn')  # [C*m, 1, kh, kw]
            bias = take(f'{prefix}{layer.name}/depthwise_bias_fused_bn')
            channels = layer.input_shape[-1]
            multiplier = kernel.shape[0] // channels
            # ONNX groups output channel c*m + j from input channel c; Keras stores [kh, kw, C, m].
            k = kernel.reshape(channels, multiplier, kernel.shape[2], kernel.shape[3]).transpose(2, 3, 0, 1)
            layer.set_weights([k])
        elif isinstance(layer, tf.keras.layers.Conv2D):
            kernel = take(f'{prefix}{layer.name}/Conv2D_weights_fused_bn')  # [O, I, kh, kw]
            bias = take(f'{prefix}{layer.name}/Conv2D_bias_fused_bn')
            layer.set_weights([kernel.transpose(2, 3, 1, 0)])  # Keras: [kh, kw, I, O]
        else:
            continue
        if layer.use_bias:
            raise ValueError(f'{layer.name} has its own bias; MobileNetV2 convolutions are followed by BatchNorm')
        bn = layers[i + 1]
        if not isinstance(bn, tf.keras.layers.BatchNormalization):
            raise ValueError(f'{layer.name} is followed by {bn.name}, not a BatchNorm')
        # gamma * (x - mean) / sqrt(var + eps) + beta with var = 1 - eps is x + beta (rsqrt(1) = 1 in float32).
        ones = np.ones_like(bias, dtype=np.float32)
        variance = (ones - np.float32(bn.epsilon)).astype(np.float32)
        bn.set_weights([ones, bias.astype(np.float32), np.zeros_like(ones), variance])
        count += kernel.size + bias.size

    dense = served.get_layer('probabilities')
    w = take(f'{served.name}/probabilities/MatMul/ReadVariableOp:0')
    b = take(f'{served.name}/probabilities/BiasAdd/ReadVariableOp:0')
    dense.set_weights([w, b])
    count += w.size + b.size
    unused = sorted(name for name, value in weights.items() if name not in used and value.size > 16)
    if unused:
        raise ValueError(f'ONNX weights not copied into the Keras model: {unused}')
    return count


def demo_images(work, count, seed):
    """Generated demo images, decoded and stretched to 224x224 with sharp as served (uint8 NHWC)."""
    out = os.path.join(work, 'images')
    tensor = os.path.join(work, 'images.u8')
    cmd = ['npx', '--no-install', 'tsx', 'scripts/demo-model/generate.ts', '--out', out, '--count', str(count),
           '--seed', str(seed), '--classes', 'horse,human', '--width', '320', '--height', '240', '--tensor', tensor]
    subprocess.run(cmd, cwd=ROOT, check=True)
    with open(tensor + '.json') as f:
        meta = json.load(f)
    return np.fromfile(tensor, dtype=np.uint8).reshape(meta['shape'])


def max_differences(served, session, x):
    """Largest |keras - onnxruntime| over the embedding and over the probabilities."""
    emb_k, prob_k = served.predict(x, batch_size=16, verbose=0)
    emb_o, prob_o = session.run(['embedding', 'probabilities'], {'input': x})
    return float(np.max(np.abs(emb_k - emb_o))), float(np.max(np.abs(prob_k - prob_o)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--onnx-dir', default=os.path.join(ROOT, 'models', 'demo'), help='folder with manifest.json and model.onnx')
    ap.add_argument('--out', default=os.path.join(ROOT, 'models', 'demo-tfjs'))
    ap.add_argument('--work', default=os.path.join(ROOT, '.cache', 'demo-model-tfjs'))
    ap.add_argument('--check-images', type=int, default=32, help='generated images for the Keras vs onnxruntime check')
    ap.add_argument('--check-seed', type=int, default=4242001)
    ap.add_argument('--shard-bytes', type=int, default=4 * 1024 * 1024)
    ap.add_argument('--skip-node-check', action='store_true', help='do not run compare-tfjs.ts at the end')
    args = ap.parse_args()

    import tensorflow as tf
    tf.keras.utils.set_random_seed(1)
    with open(os.path.join(args.onnx_dir, 'manifest.json')) as f:
        onnx_manifest = json.load(f)
    onnx_path = os.path.join(args.onnx_dir, onnx_manifest['file'])
    with open(onnx_path, 'rb') as f:
        onnx_sha = hashlib.sha256(f.read()).hexdigest()

    if os.path.isdir(args.work):
        shutil.rmtree(args.work)
    os.makedirs(args.work)

    alpha = 1.0
    base, served = build_served(tf, alpha)
    copied = load_weights(tf, base, served, onnx_weights(onnx_path))
    log(f'copied {copied} weights from {os.path.relpath(onnx_path, ROOT)} into Keras MobileNetV2 ({served.count_params()} parameters)')

    import onnxruntime as ort
    session = ort.InferenceSession(onnx_path, providers=['CPUExecutionProvider'])
    images = demo_images(args.work, args.check_images, args.check_seed).astype(np.float32) / 255.0
    noise = np.random.default_rng(7).random((8, SIZE, SIZE, 3), dtype=np.float32)
    checks = {'demo images': max_differences(served, session, images), 'uniform noise': max_differences(served, session, noise)}
    for label, (emb, prob) in checks.items():
        log(f'keras vs onnxruntime on {label}: embedding max |diff| {emb:.2e}, probabilities {prob:.2e}')
        if emb > TOLERANCE or prob > TOLERANCE:
            raise SystemExit(f'the rebuilt Keras model differs from the ONNX model by more than {TOLERANCE} on {label}')

    from tensorflowjs.converters import tf_saved_model_conversion_v2 as conversion
    saved = os.path.join(args.work, 'saved_model')
    tf.saved_model.save(served, saved)
    if os.path.isdir(args.out):
        for name in os.listdir(args.out):
            if name == 'model.json' or name.endswith('.bin'):
                os.remove(os.path.join(args.out, name))
    os.makedirs(args.out, exist_ok=True)
    conversion.convert_tf_saved_model(saved, args.out, signature_def='serving_default', saved_model_tags='serve',
                                      weight_shard_size_bytes=args.shard_bytes)
    model_json = os.path.join(args.out, 'model.json')
    with open(model_json) as f:
        converted = json.load(f)
    signature = converted.get('signature', {})
    inputs = sorted(signature.get('inputs', {}))
    outputs = sorted(signature.get('outputs', {}))
    if inputs != ['input'] or outputs != ['embedding', 'probabilities']:
        raise SystemExit(f'unexpected graph model signature: inputs {inputs}, outputs {outputs}')
    shards = [p for group in converted['weightsManifest'] for p in group['paths']]
    total = sum(os.path.getsize(os.path.join(args.out, p)) for p in shards)
    log(f'wrote {os.path.relpath(model_json, ROOT)} ({os.path.getsize(model_json)} bytes) and {len(shards)} shards ({total} bytes)')

    with open(model_json, 'rb') as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    manifest = dict(onnx_manifest)
    manifest.update({
        'format': 'tfjs',
        'file': 'model.json',
        'sha256': sha,
        'createdAt': time.strftime('%Y-%m-%dT%H:%M:%S.000Z', time.gmtime()),
        'architecture': f'{onnx_manifest.get("architecture", "MobileNetV2")}; TensorFlow.js graph model',
    })
    training = dict(onnx_manifest.get('training', {}))
    training['weightsFrom'] = f'models/demo/{onnx_manifest["file"]} (sha256 {onnx_sha}), converted by scripts/demo-model/export-tfjs.py'
    manifest['training'] = training
    with open(os.path.join(args.out, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=2)
        f.write('\n')
    log(f'wrote {os.path.relpath(os.path.join(args.out, "manifest.json"), ROOT)}')

    if not args.skip_node_check:
        subprocess.run(['npx', '--no-install', 'tsx', 'scripts/demo-model/compare-tfjs.ts', '--onnx', args.onnx_dir, '--tfjs', args.out],
                       cwd=ROOT, check=True)


if __name__ == '__main__':
    sys.exit(main())
