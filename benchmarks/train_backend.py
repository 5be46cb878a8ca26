"""Train a MIRNet preset with Keras 3 on the JAX (or torch) backend, for a machine without TensorFlow.

`llie.train` (the notebooks, the CLI) trains with TensorFlow. A lent GPU machine here has JAX and torch but no
TensorFlow, so this script runs the same recipe on another Keras backend with a plain loop:

- the network from `llie.model.build_mirnet` (plain Keras 3 on every backend);
- Charbonnier loss (eps 1e-3), Adam, the learning rate multiplied by `--lr-factor` when validation PSNR has not
  improved by 1e-4 dB for `--patience` epochs (as Keras' `ReduceLROnPlateau` in `llie.train`), the best epoch by
  validation PSNR kept;
- random crops with a random horizontal flip and 90-degree rotation, a fresh order of the pairs every epoch
  (as `llie.data.train_dataset`); PSNR on whole validation images, data range 1, mean over images.

The loss, PSNR and SSIM are written out here with the definitions of `llie.loss` and `llie.metrics` (eps, data
range 1, Gaussian SSIM window): those modules import TensorFlow.

Data: `--data` holds `pairs.json` (`{"train": [name, ...], "val": [...]}`) and `low/NAME.*`, `high/NAME.*`
images (any format PIL reads). `--budget` bounds the whole run in seconds: training stops at the last epoch
that fits and the run says how many epochs it completed.

Outputs in `--out`, each written atomically: `history.csv` (per epoch), `run.json` (arguments, environment,
timings, best epoch, final validation PSNR/SSIM) and the best weights as float16 `.npz` parts of at most
`--part-mib` MiB (`weights-K.npz`, in the order of `model.weights`, listed in `weights.json`; `load_parts` below rebuilds a model from them).

    KERAS_BACKEND=jax python benchmarks/train_backend.py --data DIR --out DIR --preset paper --budget 480
"""
from __future__ import annotations
import argparse, csv, hashlib, io, json, platform, sys, time
from pathlib import Path
import numpy as np

def log(*a): print(f'[{time.strftime("%H:%M:%S")}]', *a, flush=True)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from llie.core import atomic_write  # llie.core needs no TensorFlow

def atomic_bytes(path:Path, data:bytes):
    with atomic_write(path, 'wb') as f: f.write(data)

def load_pairs(folder:Path, names:list)->tuple:
    "uint8 arrays (N, H, W, 3) of the low and high images named in `names` (all of one size)."
    from PIL import Image
    def find(sub, n):
        hits = sorted((folder/sub).glob(n + '.*'))
        if not hits: raise SystemExit(f'{folder/sub}/{n}.*: no such image')
        return hits[0]
    read = lambda p: np.asarray(Image.open(p).convert('RGB'))
    lo = [read(find('low', n)) for n in names]; hi = [read(find('high', n)) for n in names]
    shapes = {a.shape for a in lo + hi}
    if len(shapes) != 1: raise SystemExit(f'{folder}: images differ in size: {sorted(shapes)}')
    return np.stack(lo), np.stack(hi)

def batches(lo:np.ndarray, hi:np.ndarray, batch:int, crop:int, rng:np.random.Generator):
    "Endless (low, high) float32 batches of random crops, flips and rotations; a new order of the pairs every epoch."
    n, h, w = lo.shape[:3]; order, k = rng.permutation(n), 0
    while True:
        xs, ys = [], []
        for _ in range(batch):
            if k == n: order, k = rng.permutation(n), 0
            i = order[k]; k += 1
            y0, x0 = rng.integers(0, h - crop + 1), rng.integers(0, w - crop + 1)
            a, b = lo[i, y0:y0 + crop, x0:x0 + crop], hi[i, y0:y0 + crop, x0:x0 + crop]
            if rng.random() < 0.5: a, b = a[:, ::-1], b[:, ::-1]
            r = int(rng.integers(0, 4)); a, b = np.rot90(a, r), np.rot90(b, r)
            xs.append(a); ys.append(b)
        yield np.stack(xs).astype('float32') / 255., np.stack(ys).astype('float32') / 255.

def predict(model, lo:np.ndarray, bs:int)->np.ndarray:
    "Clipped float32 predictions of uint8 images, `bs` at a time (one compiled shape)."
    out = []
    for i in range(0, len(lo), bs):
        x = lo[i:i + bs].astype('float32') / 255.
        if len(x) < bs: x = np.concatenate([x, np.zeros((bs - len(x), *x.shape[1:]), 'float32')])
        out.append(np.clip(np.asarray(model.predict_on_batch(x), 'float32'), 0, 1)[:min(bs, len(lo) - i)])
    return np.concatenate(out)

def psnr_each(gt_u8:np.ndarray, pred:np.ndarray)->np.ndarray:
    "PSNR (dB) per image, data range 1, float64."
    mse = ((gt_u8.astype('float64') / 255. - pred.astype('float64')) ** 2).reshape(len(pred), -1).mean(1)
    return 10 * np.log10(1. / mse)

def ssim_each(gt_u8:np.ndarray, pred:np.ndarray)->np.ndarray:
    "SSIM per image as `llie.metrics.ssim`: Gaussian window sigma 1.5, data range 1, mean over channels."
    from skimage.metrics import structural_similarity as ssim
    return np.array([ssim(g.astype('float64') / 255., p.astype('float64'), gaussian_weights=True, sigma=1.5,
                          use_sample_covariance=False, data_range=1.0, channel_axis=-1) for g, p in zip(gt_u8, pred)])

def save_parts(model, out:Path, part_mib:float, meta:dict)->list:
    "Write the model's variables, in order, as float16 `.npz` parts of at most `part_mib` MiB; returns [(file, sha256)]."
    parts, cur, size = [], {}, 0
    for i, v in enumerate(model.weights):
        a = np.asarray(v.numpy(), 'float16')
        if size and size + a.nbytes > part_mib * 2**20: parts.append(cur); cur, size = {}, 0
        cur[f'{i:04d}'] = a; size += a.nbytes
    parts.append(cur); files = []
    for k, d in enumerate(parts):
        buf = io.BytesIO(); np.savez(buf, **d); data = buf.getvalue()
        atomic_bytes(out/f'weights-{k}.npz', data); files.append((f'weights-{k}.npz', hashlib.sha256(data).hexdigest()))
    for k in range(len(parts), 16): # parts left over from an earlier save with more parts
        if (out/f'weights-{k}.npz').exists(): (out/f'weights-{k}.npz').unlink()
    paths = [[v.path, list(v.shape)] for v in model.weights]
    atomic_bytes(out/'weights.json', json.dumps({**meta, 'parts': files, 'variables': paths}).encode())
    return files

def load_parts(model, folder:Path)->dict:
    "Load float16 parts written by `save_parts` into `model` (the same architecture, any backend), by order; checks shapes and hashes."
    info = json.loads((Path(folder)/'weights.json').read_text()); arrays = {}
    for f, sha in info['parts']:
        data = (Path(folder)/f).read_bytes()
        if hashlib.sha256(data).hexdigest() != sha: raise ValueError(f'{folder}/{f}: checksum differs from weights.json')
        with np.load(io.BytesIO(data)) as z: arrays.update({k: z[k] for k in z.files})
    if len(arrays) != len(model.weights): raise ValueError(f'{folder}: {len(arrays)} arrays for {len(model.weights)} variables')
    for i, v in enumerate(model.weights):
        a = arrays[f'{i:04d}']
        if tuple(a.shape) != tuple(v.shape): raise ValueError(f'{folder}: variable {i} ({v.path}) has shape {v.shape}, file {a.shape}')
        v.assign(a.astype('float32'))
    return info

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data', required=True); p.add_argument('--out', required=True)
    p.add_argument('--preset', default='paper'); p.add_argument('--epochs', type=int, default=50)
    p.add_argument('--steps', type=int, default=120); p.add_argument('--batch', type=int, default=4)
    p.add_argument('--crop', type=int, default=128); p.add_argument('--lr', type=float, default=1e-4)
    p.add_argument('--lr-factor', type=float, default=0.5); p.add_argument('--patience', type=int, default=5)
    p.add_argument('--min-lr', type=float, default=1e-6); p.add_argument('--eps', type=float, default=1e-3)
    p.add_argument('--precision', default='mixed_bfloat16'); p.add_argument('--seed', type=int, default=0)
    p.add_argument('--val-batch', type=int, default=6); p.add_argument('--max-val', type=int, default=None)
    p.add_argument('--budget', type=float, default=None, help='seconds for the whole run (training stops in time)')
    p.add_argument('--part-mib', type=float, default=15.5)
    p.add_argument('--jit', choices=['auto', 'on', 'off'], default='auto',
                   help="XLA-compile the steps; auto: on for JAX (its normal mode), off for TensorFlow (on a CPU XLA is slower "
                        "than TensorFlow's own kernels and takes minutes to compile: benchmarks/NOTES.md) and torch")
    a = p.parse_args(argv)
    t_start = time.perf_counter(); out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    import keras
    from keras import ops
    from llie.model import build_mirnet, set_precision
    keras.utils.set_random_seed(a.seed); rng = np.random.default_rng(a.seed)
    names = json.loads((Path(a.data)/'pairs.json').read_text())
    tr_lo, tr_hi = load_pairs(Path(a.data), names['train'])
    va_names = names['val'][:a.max_val]; va_lo, va_hi = load_pairs(Path(a.data), va_names)
    log(f'data: {len(tr_lo)} train, {len(va_lo)} val pairs of {tr_lo.shape[1:3]} ({time.perf_counter() - t_start:.0f}s)')
    prec = set_precision(a.precision)
    model = build_mirnet(a.preset)
    eps = a.eps
    def charbonnier(y_true, y_pred):
        d = ops.cast(y_pred, 'float32') - ops.cast(y_true, 'float32')
        return ops.mean(ops.sqrt(ops.square(d) + eps * eps))
    jit = {'on': True, 'off': False}.get(a.jit, keras.backend.backend() == 'jax')
    model.compile(optimizer=keras.optimizers.Adam(a.lr), loss=charbonnier, jit_compile=jit)
    env = {'backend': keras.backend.backend(), 'keras': keras.__version__, 'python': platform.python_version(),
           'precision': prec, 'params': int(model.count_params()), 'jit_compile': jit}
    try:
        import jax; env.update(jax=jax.__version__, devices=[str(d) for d in jax.devices()],
                               device_kind=jax.devices()[0].device_kind)
    except Exception: pass
    cfg = {'args': vars(a), 'env': env, 'train_pairs': len(tr_lo), 'val_pairs': len(va_lo)}
    atomic_bytes(out/'run.json', json.dumps(cfg, indent=1).encode()); log('env', env)
    gen = batches(tr_lo, tr_hi, a.batch, a.crop, rng)
    lr, best, best_epoch, wait, rows, t_epochs = a.lr, -np.inf, 0, 0, [], []
    t_final = 40. # seconds kept for the final evaluation and writing
    for epoch in range(1, a.epochs + 1):
        t0 = time.perf_counter(); losses = []
        for s in range(a.steps):
            x, y = next(gen); r = model.train_on_batch(x, y, return_dict=True); losses.append(float(r['loss']))
            if epoch == 1 and s == 0: t_first = time.perf_counter() - t0; log(f'first step (compile) {t_first:.1f}s')
        t1 = time.perf_counter()
        pred = predict(model, va_lo, a.val_batch); vp = float(psnr_each(va_hi, pred).mean())
        t2 = time.perf_counter(); t_epochs.append(t2 - t0)
        improved = vp > best + 1e-4
        if improved: best, best_epoch, wait = vp, epoch, 0
        else:
            wait += 1
            if wait >= a.patience and lr > a.min_lr:
                lr = max(lr * a.lr_factor, a.min_lr); model.optimizer.learning_rate.assign(lr); wait = 0
        if improved:
            save_parts(model, out, a.part_mib, {'epoch': epoch, 'val_psnr': vp, 'preset': a.preset, 'dtype': 'float16'})
        rows.append({'epoch': epoch, 'lr': f'{lr:.3g}', 'loss': f'{np.mean(losses):.5f}', 'val_psnr': f'{vp:.4f}',
                     'train_s': f'{t1 - t0:.2f}', 'val_s': f'{t2 - t1:.2f}', 'elapsed_s': f'{t2 - t_start:.1f}'})
        buf = io.StringIO(); w = csv.DictWriter(buf, fieldnames=list(rows[0])); w.writeheader(); w.writerows(rows)
        atomic_bytes(out/'history.csv', buf.getvalue().encode())
        log(f'epoch {epoch}: loss {np.mean(losses):.4f} val PSNR {vp:.2f} (best {best:.2f} @ {best_epoch}) lr {lr:.2g} '
            f'train {t1 - t0:.1f}s val {t2 - t1:.1f}s')
        per_epoch = np.median(t_epochs[1:]) if len(t_epochs) > 1 else t_epochs[0]
        if a.budget and time.perf_counter() - t_start + per_epoch + t_final > a.budget:
            log(f'budget: stopping after epoch {epoch} of {a.epochs}'); break
    # final: the best epoch's float16 weights (what comes back) on the validation images
    info = load_parts(model, out)
    pred = predict(model, va_lo, a.val_batch)
    ps, ss = psnr_each(va_hi, pred), ssim_each(va_hi, pred)
    steps_s = [float(r['train_s']) for r in rows[1:]]
    cfg.update(epochs_done=len(rows), best_epoch=best_epoch, best_val_psnr_fp32=best,
               final={'val_psnr_fp16_weights': float(ps.mean()), 'val_ssim_fp16_weights': float(ss.mean()), 'n': len(ps)},
               timing={'first_step_s': t_first, 'median_epoch_train_s': float(np.median(steps_s)) if steps_s else None,
                       'median_epoch_val_s': float(np.median([float(r['val_s']) for r in rows])),
                       'total_s': time.perf_counter() - t_start}, weights=info['parts'])
    atomic_bytes(out/'run.json', json.dumps(cfg, indent=1).encode())
    log(f'done: {len(rows)} epochs, best epoch {best_epoch} val PSNR {best:.2f}; float16 weights: '
        f'{ps.mean():.2f} dB / SSIM {ss.mean():.3f} on {len(ps)} val images; {time.perf_counter() - t_start:.0f}s')

if __name__ == '__main__': main()
