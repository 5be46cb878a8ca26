"""Enhance a folder of images with weights from `train_backend.py`, on a Keras backend without TensorFlow.

Writes every output as an 8-bit PNG (what `llie enhance` writes by default) into zip archives of at most
`--part-mib` MiB (`enhanced-K.zip`), plus `enhance.json` with per-image seconds. The outputs are then scored
where `llie.metrics` runs (PSNR, SSIM, LPIPS against the ground truth), e.g. on the development machine.

    KERAS_BACKEND=jax python benchmarks/enhance_backend.py --weights DIR --images DIR --out DIR --preset paper
"""
from __future__ import annotations
import argparse, io, json, os, sys, time, zipfile
from pathlib import Path
import numpy as np

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--weights', required=True, help='folder with weights.json and its parts')
    p.add_argument('--images', required=True); p.add_argument('--out', required=True)
    p.add_argument('--preset', default='paper'); p.add_argument('--precision', default='float32')
    p.add_argument('--part-mib', type=float, default=15.5)
    a = p.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent)); sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from PIL import Image
    import keras
    from llie.model import build_mirnet, set_precision, predict_image
    from train_backend import load_parts, atomic_bytes, log
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    files = sorted(f for f in Path(a.images).iterdir() if f.suffix.lower() in ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff'))
    if not files: raise SystemExit(f'{a.images}: no images')
    set_precision(a.precision); m = build_mirnet(a.preset); info = load_parts(m, Path(a.weights))
    log(f'{a.preset} weights of epoch {info.get("epoch")} loaded; {len(files)} images; backend {keras.backend.backend()}')
    t0 = time.perf_counter(); predict_image(m, np.asarray(Image.open(files[0]).convert('RGB'), 'float32') / 255.)
    first = time.perf_counter() - t0; secs, part, k, size = {}, io.BytesIO(), 0, 0
    z = zipfile.ZipFile(part, 'w', zipfile.ZIP_STORED)
    def flush():
        nonlocal part, z, k, size
        z.close(); atomic_bytes(out/f'enhanced-{k}.zip', part.getvalue()); k += 1
        part, size = io.BytesIO(), 0; z = zipfile.ZipFile(part, 'w', zipfile.ZIP_STORED)
    for f in files:
        x = np.asarray(Image.open(f).convert('RGB'), 'float32') / 255.
        t = time.perf_counter(); y = predict_image(m, x); secs[f.name] = time.perf_counter() - t
        b = io.BytesIO(); Image.fromarray(np.round(y.astype(np.float64) * 255).astype(np.uint8)).save(b, 'PNG'); data = b.getvalue()
        if size and size + len(data) > a.part_mib * 2**20: flush()
        z.writestr(f.stem + '.png', data); size += len(data)
    flush()
    s = np.array(list(secs.values()))
    atomic_bytes(out/'enhance.json', json.dumps({'weights': info.get('epoch'), 'preset': a.preset, 'precision': a.precision,
        'backend': keras.backend.backend(), 'first_call_s': first, 'seconds': secs, 'median_s': float(np.median(s)),
        'parts': k}, indent=1).encode())
    log(f'done: {len(files)} images, median {np.median(s):.3f} s (first call {first:.1f} s), {k} archives')

if __name__ == '__main__': main()
