"""Probes for the mixed-exposure shortfall of issue 22: gain maps around MIRNet, and changes of the training stream.

    python benchmarks/illum_probe.py out.json control branch joint post [--lit LO,HI] [--spatial-shadow LO,HI]
                                     [--loss k=v,...] [--steps N] [--test-gen] [--no-start] [--save DIR]

The shipped model leaves the darkest third of a mixed-exposure frame at about 0.74 of the target's brightness
(experiments.md, session 24). Every arm starts from the same weights (the shipped model) and trains `--steps` steps on
the same batches of the default profile's stream (as `benchmarks/loss_probe.py`: 2 x 400-pixel crops from stream
step 4000, the profile's loss, Adam with its gradient clipping, no EMA), then is scored with the model's exposure
gate on the validation split: LOL PSNR / SSIM, pass-through, mixed exposure with the shadow / lit brightness.
Results are added to `out.json` under the arm's name and its options.

Arms:
- `control`: the shipped network, everything trained at `--lr`;
- `branch`: a Retinex-style illumination branch before the frozen network (a small CNN on the input shrunk 8x and
  32x predicts a smooth log-gain map, last convolution zero, so it starts as the identity; the network enhances
  `x * exp(gain)`), trained at `--branch-lr`;
- `joint`: the branch at `--branch-lr` and the network at `--lr`, each with its own Adam;
- `local`: the network with `local_grid=4` (channel attention and SKFF also see a 4 x 4 grid of cell means, mixed in
  by a learnt share per channel that starts at 0, so it starts as the shipped network): the shares at
  `--branch-lr`, the rest at `--lr`;
- `post`: the branch after the frozen network: `body(x) * exp(gain(x, body(x)))`, a local brightness correction of
  the output, trained at `--branch-lr`.
Stream options (the same for every arm of one call): `--lit LO,HI` the exposure of the lit part of spatially varying
inputs (`llie.synth.synth_low`'s `lit`); `--spatial-shadow LO,HI` the darkest exposure of spatially varying inputs
drawn from its own range (global inputs keep 0.015-0.6); `--test-gen` (a diagnostic only) every synthetic input made
by the mixed-exposure test's own generator; `--loss` changes of the loss weights. A few hundred steps show which way
a change pulls the network, not what a full run would reach. CPU-heavy: run it alone on the machine.
"""
import argparse, json, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1])); sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np


def illum_branch(x, width=16, name='illum', y=None):
    "Log-gain map (N x H x W x 1) from the input x (NHWC in [0, 1]) (and an output y): convolutions at 1/8 and 1/32 scale, last one zero."
    import keras, tensorflow as tf
    from keras import layers
    L = keras.layers
    src = x if y is None else L.Concatenate(name=f'{name}_xy')([x, y])
    def conv(c, k=3, zero=False, act='relu', n=None):
        return L.Conv2D(c, k, padding='same', activation=act, name=f'{name}_{n}',
                        kernel_initializer='zeros' if zero else 'glorot_uniform')
    feat = L.Lambda(lambda t: tf.concat([t, tf.reduce_max(t, -1, keepdims=True), tf.reduce_mean(t, -1, keepdims=True)], -1), name=f'{name}_feat')(src)
    a = L.AveragePooling2D(8, padding='same', name=f'{name}_pool8')(feat)
    a = conv(width, n='a1')(a)
    b = L.AveragePooling2D(4, padding='same', name=f'{name}_pool32')(a)
    b = conv(width, n='b1')(b); b = conv(width, n='b2')(b)
    bu = L.Lambda(lambda ts: tf.image.resize(ts[0], tf.shape(ts[1])[1:3], 'bilinear'), name=f'{name}_upb')([b, a])
    c = conv(width, n='c1')(L.Concatenate(name=f'{name}_cat')([a, bu]))
    g = conv(1, 1, zero=True, act=None, n='out')(c)
    return L.Lambda(lambda ts: tf.image.resize(ts[0], tf.shape(ts[1])[1:3], 'bilinear'), name=f'{name}_up')([g, x])


def twin(body, gate=None, post=False):
    "x -> body(x * exp(gain(x))) (post: body(x) * exp(gain(x, body(x)))), optionally the exposure gate on the original x."
    import keras, tensorflow as tf
    from llie.model import ExposureGate
    inp = keras.Input((None, None, 3), name='low')
    if post:
        y = body(inp); g = illum_branch(inp, y=y)
        out = keras.layers.Lambda(lambda ts: ts[0] * tf.exp(ts[1]), name='light_up')([y, g])
    else:
        g = illum_branch(inp)
        xl = keras.layers.Lambda(lambda ts: ts[0] * tf.exp(ts[1]), name='light_up')([inp, g])
        out = body(xl)
    if gate: out = ExposureGate(*gate, name='exposure_gate')(out, inp)
    m = keras.Model(inp, out); m.llie_config = dict(body.llie_config, gate=gate); return m


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('out'); ap.add_argument('arms', nargs='+', choices=['control', 'branch', 'joint', 'post', 'local'])
    ap.add_argument('--weights', default='llie/weights/default.weights.h5')
    ap.add_argument('--steps', type=int, default=200); ap.add_argument('--lr', type=float, default=5e-5)
    ap.add_argument('--branch-lr', type=float, default=1e-3)
    ap.add_argument('--crop', type=int, default=400); ap.add_argument('--batch', type=int, default=2)
    ap.add_argument('--start-step', type=int, default=4000)
    ap.add_argument('--val', type=int, default=None, help='first N validation pairs (default: all)')
    ap.add_argument('--lit', default=None, help="'LO,HI': the exposure range of the lit part of the stream's spatially varying inputs (llie.synth.synth_low's `lit`; default its own)")
    ap.add_argument('--loss', default='', help="'k=v,...': changes to the profile's loss (ssim_weight, lpips_weight, color_weight, color_cell), as loss_probe.py's arms")
    ap.add_argument('--test-gen', action='store_true', help="diagnostic: every synthetic input of the stream made by the mixed-exposure test's own generator (llie.synth.mixed_exposure_input)")
    ap.add_argument('--spatial-shadow', default=None, help="'LO,HI': the darkest exposure of the stream's spatially varying inputs, drawn log-uniformly (default: the global range of llie.synth.synth_low)")
    ap.add_argument('--no-start', action='store_true', help='do not score the start weights again')
    ap.add_argument('--synth-only', action='store_true', help="every input of the stream synthetic (synth_fraction 1: no LOL pairs), for a network that only sees frames with a lit part")
    ap.add_argument('--lift', action='store_true', help="every synthetic input passed through `llie.enhance.lift_shadows` (after JPEG), as the network would see it behind the lift")
    ap.add_argument('--cosine', action='store_true', help='learning rate decayed from --lr to 0 over --steps by a cosine (default: constant)')
    ap.add_argument('--save', default=None, help="'DIR': write each arm's gated model there as ARM.weights.h5 (with its .json), e.g. for pregain_probe.py's route arms")
    a = ap.parse_args(argv)
    import keras, tensorflow as tf
    if a.spatial_shadow: # synth_low with the spatial mode's shadow drawn from its own range
        import llie.synth as S
        lo_hi = tuple(float(v) for v in a.spatial_shadow.split(','))
        lit = tuple(float(v) for v in a.lit.split(',')) if a.lit else (0.3, 1.0)
        def gen(high, rng, passthrough=0.15, spatial=0.6, jpeg=0.3, **kw):
            x = S._to_float(high)
            if rng.random() < passthrough: low = np.round(x * 255).astype(np.uint8)
            else:
                if rng.random() < spatial:
                    k = float(np.exp(rng.uniform(*np.log(lo_hi))))
                    f = S.smooth_field(*x.shape[:2], rng) ** float(np.exp(rng.uniform(np.log(0.3), np.log(3.))))
                    k_hi = max(k, float(rng.uniform(*lit)))
                    e = np.exp(np.log(k) * (1 - f) + np.log(k_hi) * f)
                else: e = float(np.exp(rng.uniform(*np.log((0.015, 0.6)))))
                low = S.expose(x, e, rng)
            if rng.random() < jpeg: low = S.jpeg_roundtrip(low, int(rng.integers(60, 96)))
            return low, None, None
        S.synth_low = gen
    elif a.lit: # the stream's batches call llie.synth.synth_low by name
        import functools, llie.synth as S
        S.synth_low = functools.partial(S.synth_low, lit=tuple(float(v) for v in a.lit.split(',')))
    if a.lift: # wraps whichever generator is in place: the network learns on what the lift hands it
        import llie.synth as S
        from llie.enhance import lift_shadows
        inner = S.synth_low
        def gen(high, rng, **kw):
            low, mode, q = inner(high, rng, **kw)
            return np.round(lift_shadows(np.asarray(low, np.float32) / 255) * 255).astype(np.uint8), mode, q
        S.synth_low = gen
    if a.test_gen:
        import llie.synth as S
        def gen(high, rng, **kw):
            lo = S.mixed_exposure_input(high, int(rng.integers(2**31)))
            return np.round(lo * 255).astype(np.uint8), 'spatial', None
        S.synth_low = gen
    from llie.core import load_yaml, save_json
    from llie.data import load_splits
    from llie.model import build_mirnet
    from llie.loss import CharbonnierLoss
    from llie.synth import PairStore
    from loss_probe import score_model, profile_stream, parse_arm # the same scoring and batches as the loss probe
    cfg = load_yaml('configs/default.yaml')
    if a.synth_only: cfg['synth_fraction'] = 1.0
    splits = load_splits('reports/default-model/splits.json')
    val = splits['val'][:a.val] if a.val else splits['val']
    arch = dict(json.loads(Path(a.weights.replace('.weights.h5', '.json')).read_text())['architecture'])
    gate = arch.get('gate')
    store = PairStore(splits['train'])
    score = lambda m: score_model(m, val)
    results = json.loads(Path(a.out).read_text()) if Path(a.out).exists() else {}
    def report(name, res):
        name = (f'{name}@testgen' if a.test_gen and name != 'start' else name)
        name = (f'{name}@shadow{a.spatial_shadow}' if a.spatial_shadow and name != 'start' else name)
        name = name + ''.join(f'@{f}' for f in ('synth_only', 'lift', 'cosine') if getattr(a, f) and name != 'start')
        name = (f'{name}@lit{a.lit}' if a.lit else name) + (f'@loss[{a.loss}]' if a.loss and name != 'start' else '') + (f'@{a.steps}' if a.steps != 200 and name != 'start' else '')
        results[name] = res; save_json(results, a.out)
        print(name, json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in res.items()}), flush=True)
    def body():
        b = build_mirnet(**{**arch, 'gate': None}); b.load_weights(a.weights); return b
    lw = dict(ssim_weight=cfg['ssim_weight'], lpips_weight=cfg['lpips_weight'], color_weight=cfg['color_weight'])
    lw.update(parse_arm(f'--loss|{a.loss}')[1])
    loss = CharbonnierLoss(eps=cfg['charbonnier_eps'], **lw)
    t = twin(body(), gate)
    if not a.no_start: report('start', {'weights': a.weights, **score(t)})
    for name in a.arms:
        keras.utils.set_random_seed(0)
        b = body()
        if name == 'control': m, lr = b, a.lr
        elif name == 'local':
            m = build_mirnet(**{**arch, 'gate': None, 'local_grid': 4}); lr = a.branch_lr
            for v, w in zip([v for v in m.weights if not v.path.endswith('mix')], b.weights): v.assign(w.numpy())
            b = m
        else:
            m = twin(b, post=name == 'post'); lr = a.branch_lr
            if name in ('branch', 'post'): b.trainable = False
        opt = keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(lr, a.steps) if a.cosine else lr, global_clipnorm=cfg['clipnorm'])
        ds = profile_stream(store, cfg, a.steps, a.crop, a.batch, a.start_step)
        if name in ('joint', 'local'): # one optimiser per part: the body's own Adam at --lr
            bopt = keras.optimizers.Adam(a.lr, global_clipnorm=cfg['clipnorm'])
            new = (lambda v: v.path.endswith('mix')) if name == 'local' else (lambda v: v.path.startswith('illum'))
            bv = [v for v in m.trainable_variables if not new(v)]; gv = [v for v in m.trainable_variables if new(v)]
            @tf.function
            def step(x, y):
                with tf.GradientTape() as tape: l = loss(y, m(x, training=True))
                gb, gg = tape.gradient(l, [bv, gv]); opt.apply_gradients(zip(gg, gv)); bopt.apply_gradients(zip(gb, bv)); return l
            t0 = time.time()
            for x, y in ds: final = float(step(x, y))
        else:
            m.compile(optimizer=opt, loss=loss)
            t0 = time.time(); final = float(m.fit(ds, epochs=1, steps_per_epoch=a.steps, verbose=0).history['loss'][-1])
        if name == 'control': g = build_mirnet(**arch); g.set_weights(m.get_weights())
        elif name == 'local': g = build_mirnet(**{**arch, 'local_grid': 4}); g.set_weights(m.get_weights())
        else: g = twin(b, gate, post=name == 'post'); g.set_weights(m.get_weights())
        if a.save:
            from llie.model import save_model
            Path(a.save).mkdir(parents=True, exist_ok=True); save_model(g, Path(a.save)/f'{name}.weights.h5')
        # how far the new weights moved from 0: the branch's last kernel and bias (std), or the local shares (mean |share|)
        gains = [float(v.numpy().std()) for v in m.trainable_variables if 'illum_out' in v.path] if name not in ('control', 'local') else []
        if name == 'local': gains = [float(np.abs(v.numpy()).mean()) for v in m.trainable_variables if v.path.endswith('mix')]
        report(name, {'lit': a.lit, 'loss': lw, 'steps': a.steps, 'lr': a.lr, 'branch_lr': a.branch_lr, 'train_seconds': round(time.time() - t0, 1),
                      'final_loss': final, 'new_weights_size': gains, **score(g)})

if __name__ == '__main__': main()
