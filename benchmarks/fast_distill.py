"""A probe: the fast path's own weights by distillation from the whole-image model (experiments.md, session 26, arm D).

    python benchmarks/fast_distill.py /work/scratch/distill --steps 600        # then benchmarks/fast_probe.py on OUT/last.weights.h5

The fast path enhances a shrunk copy of a large photo and carries its local colour transforms to full size; its bar
is the whole image's output. So the student (the shipped weights to start) is trained to give, on an image shrunk
`s`x, the whole-image output of the shipped network (the teacher, no gate) shrunk `s`x: no ground truth in the loss.
Inputs: the training split's lows and `--synth` synthetic captures of each training target drawn as the default
profile's stream draws them (`llie.synth.synth_low`), teacher run once on each at full size; inputs and targets
area-shrunk 2x and 3x (`llie.enhance._downscale`, as the fast path shrinks). Training alternates batches of nearly
whole 2x and 3x frames (random crops of `--crop2` / `--crop3`, flips), Charbonnier loss, Adam with a cosine decay,
the profile's gradient clipping and an EMA of the weights. Writes OUT/last.weights.h5 and OUT/last.json (the shipped
model's architecture, gate included). CPU-heavy: run it alone on the machine.

With `--end-to-end` (arm E) the loss is taken after the transfer instead: the student's output on the 2x-shrunk frame
goes through the guided filter (`tf_guided`, the TensorFlow twin of `llie.enhance.guided_coefficients` +
`apply_guided`, differentiable) onto the full-size input, and is compared with the teacher's full-size output; crops
of `--crop-full` full-size pixels, 2x only.
"""
import argparse, json, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import numpy as np


def tf_guided(x, lo, y, r:int, eps:float, s:int):
    "The fast path's transfer in TensorFlow: guided-filter coefficients of `y` on `lo` (both N x h x w x 3), box-averaged, upsampled bilinearly `s`x and applied to the full-size `x`."
    import tensorflow as tf
    def box(t): # mean over (2r+1)^2 windows, mirrored edges (scipy's 'reflect')
        return tf.nn.avg_pool2d(tf.pad(t, [[0, 0], [r, r], [r, r], [0, 0]], 'SYMMETRIC'), 2 * r + 1, 1, 'VALID')
    pairs = [(0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)]
    prods = [lo[..., i:i + 1] * lo[..., j:j + 1] for i, j in pairs] + [lo[..., i:i + 1] * y[..., j:j + 1] for i in range(3) for j in range(3)]
    m = box(tf.concat([lo, y] + prods, -1))
    mx, my = m[..., 0:3], m[..., 3:6]
    cv = [m[..., 6 + k] - mx[..., i] * mx[..., j] for k, (i, j) in enumerate(pairs)]
    a_, p, q, d, e, f = cv; a_, d, f = a_ + eps, d + eps, f + eps
    i00, i01, i02 = d * f - e * e, q * e - p * f, p * e - q * d
    i11, i12, i22 = a_ * f - q * q, p * q - a_ * e, a_ * d - p * p
    det = a_ * i00 + p * i01 + q * i02
    inv = tf.reshape(tf.stack([i00, i01, i02, i01, i11, i12, i02, i12, i22], -1), tf.concat([tf.shape(det), [3, 3]], 0)) / det[..., None, None]
    sxy = tf.reshape(m[..., 12:21] - tf.reshape(mx[..., :, None] * my[..., None, :], tf.concat([tf.shape(det), [9]], 0)), tf.concat([tf.shape(det), [3, 3]], 0))
    A = inv @ sxy
    b = my - (mx[..., None, :] @ A)[..., 0, :]
    coef = box(tf.concat([tf.reshape(A, tf.concat([tf.shape(det), [9]], 0)), b], -1))
    up = tf.image.resize(coef, tf.shape(x)[1:3], 'bilinear')
    out = up[..., 9:] + x[..., 0:1] * up[..., 0:3] + x[..., 1:2] * up[..., 3:6] + x[..., 2:3] * up[..., 6:9]
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('out'); ap.add_argument('--weights', default='llie/weights/default.weights.h5')
    ap.add_argument('--steps', type=int, default=600); ap.add_argument('--batch', type=int, default=4)
    ap.add_argument('--lr', type=float, default=5e-5); ap.add_argument('--min-lr', type=float, default=1e-6)
    ap.add_argument('--ema', type=float, default=0.99); ap.add_argument('--synth', type=int, default=2)
    ap.add_argument('--crop2', default='192,288'); ap.add_argument('--crop3', default='128,192')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--end-to-end', action='store_true'); ap.add_argument('--crop-full', default='400,592')
    ap.add_argument('--n-train', type=int, default=None, help='first N training pairs (a smoke run)')
    a = ap.parse_args(argv)
    import keras, tensorflow as tf
    from llie.core import load_yaml, save_json
    from llie.data import load_splits, read_image
    from llie.model import build_mirnet
    from llie.loss import CharbonnierLoss
    from llie.synth import synth_low
    from llie.enhance import _downscale, _run, _FAST_RADIUS, _FAST_EPS
    cfg = load_yaml('configs/default.yaml')
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    meta = json.loads(Path(a.weights.replace('.weights.h5', '.json')).read_text())
    arch = dict(meta['architecture'])
    teacher = build_mirnet(**{**arch, 'gate': None}); teacher.load_weights(a.weights)
    train = load_splits('reports/default-model/splits.json')['train'][:a.n_train]
    rng = np.random.default_rng([a.seed, 26])
    kw = dict(passthrough=cfg['passthrough_fraction'], jpeg=cfg['jpeg_fraction'], spatial=cfg['spatial_fraction'])
    data = {2: ([], []), 3: ([], [])} if not a.end_to_end else {1: ([], [])}
    t0 = time.time()
    for p in train:
        hi = read_image(p.high)
        ins = [read_image(p.low)] + [synth_low(hi, rng, **kw)[0].astype(np.float32) / 255 for _ in range(a.synth)]
        for x in ins:
            y = np.clip(_run(teacher, x), 0, 1)
            if a.end_to_end: data[1][0].append(np.round(x * 255).astype(np.uint8)); data[1][1].append(y.astype(np.float16))
            else:
                for s in (2, 3): data[s][0].append(_downscale(x, s)); data[s][1].append(_downscale(y, s))
    data = {s: (np.stack(x), np.stack(y)) for s, (x, y) in data.items()}
    t_teacher = time.time() - t0
    print(f'{len(next(iter(data.values()))[0])} inputs, teacher and shrinking {t_teacher:.0f} s', flush=True)
    crops = {2: tuple(int(v) for v in a.crop2.split(',')), 3: tuple(int(v) for v in a.crop3.split(',')),
             1: tuple(int(v) for v in a.crop_full.split(','))}
    def batch(s):
        X, Y = data[s]; ch, cw = crops[s]
        xs, ys = [], []
        for _ in range(a.batch):
            i = int(rng.integers(len(X))); h, w = X.shape[1:3]
            tr, tc = int(rng.integers(h - ch + 1)), int(rng.integers(w - cw + 1))
            x, y = X[i, tr:tr + ch, tc:tc + cw], Y[i, tr:tr + ch, tc:tc + cw]
            if rng.random() < 0.5: x, y = x[:, ::-1], y[:, ::-1]
            if rng.random() < 0.5: x, y = x[::-1], y[::-1]
            xs.append(x); ys.append(y)
        xs, ys = np.ascontiguousarray(np.stack(xs)), np.ascontiguousarray(np.stack(ys))
        return (xs.astype(np.float32) / 255, ys.astype(np.float32)) if s == 1 else (xs, ys)
    keras.utils.set_random_seed(a.seed)
    student = build_mirnet(**{**arch, 'gate': None}); student.load_weights(a.weights)
    sched = keras.optimizers.schedules.CosineDecay(a.lr, a.steps, alpha=a.min_lr / a.lr)
    opt = keras.optimizers.Adam(sched, global_clipnorm=cfg['clipnorm'], use_ema=a.ema > 0, ema_momentum=a.ema or 0.99)
    student.compile(optimizer=opt, loss=CharbonnierLoss(eps=cfg['charbonnier_eps']))
    t0, losses = time.time(), []
    if a.end_to_end:
        @tf.function(reduce_retracing=True)
        def e2e_step(x, y):
            lo = tf.nn.avg_pool2d(x, 2, 2, 'VALID') # the fast path's area shrink (sides even)
            with tf.GradientTape() as tape:
                out = tf_guided(x, lo, student(lo, training=True), _FAST_RADIUS, _FAST_EPS, 2)
                loss = tf.reduce_mean(tf.sqrt(tf.square(out - y) + cfg['charbonnier_eps'] ** 2))
            g = tape.gradient(loss, student.trainable_variables)
            opt.apply_gradients(zip(g, student.trainable_variables))
            return loss
    for step in range(a.steps):
        if a.end_to_end: losses.append(float(e2e_step(*batch(1))))
        else:
            x, y = batch(2 if step % 2 == 0 else 3)
            losses.append(float(student.train_on_batch(x, y)))
        if (step + 1) % 50 == 0: print(f'step {step + 1}: loss {np.mean(losses[-50:]):.5f} ({time.time() - t0:.0f} s)', flush=True)
    if a.ema: opt.finalize_variable_values(student.trainable_variables)
    gated = build_mirnet(**arch); gated.set_weights(student.get_weights())
    gated.save_weights(str(out/'last.weights.h5'))
    save_json({'architecture': arch, 'distilled_from': a.weights, 'steps': a.steps, 'batch': a.batch, 'lr': a.lr, 'ema': a.ema,
               'synth': a.synth, 'crops': crops, 'teacher_seconds': round(t_teacher, 1), 'train_seconds': round(time.time() - t0, 1),
               'final_loss': float(np.mean(losses[-50:]))}, out/'last.json')
    print('written', out/'last.weights.h5', flush=True)


if __name__ == '__main__': main()
