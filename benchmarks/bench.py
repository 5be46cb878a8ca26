"""Performance benchmark of llie's MIRNet presets on this machine.

One run measures, for every preset, side by side with the plain float32 Keras graph of the same preset:
inference seconds per 600x400 image (float32 graph, XLA, mixed_bfloat16, bf16+XLA, ONNX Runtime,
thread settings, and `_fix`: llie's model as shipped, whose transposed convolutions run as four small convolutions
at inference, same architecture and weights; every other variant is built as the plain Keras graph),
training seconds per step (float32, mixed_bfloat16, XLA, bf16+XLA, `_fix`), input-pipeline images per second and
whether training waits on data, peak resident memory per subprocess, achieved GFLOP/s against this
machine's matmul ceiling, and a numerical guard on a real LOL image.

Every measurement group runs in its own subprocess (separable memory peaks; thread settings must be
set before TensorFlow starts). Results: one CSV row per preset x variant x measure, a JSON with the
environment, worker logs, and a short table printed last (also saved as Markdown).

    .venv/bin/python benchmarks/bench.py --presets nano,tiny --repeats 5
    .venv/bin/python benchmarks/bench.py --presets nano --repeats 2 --quick   # end-to-end check
    make bench ARGS="--presets tiny,small --profile-ops"
"""
from __future__ import annotations
import argparse, contextlib, csv, json, os, platform, resource, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path: sys.path.insert(0, str(ROOT))
from llie.core import atomic_path, atomic_write, env_info, shared_dir, save_json  # light: no TensorFlow

ALL_PRESETS = ['nano', 'fast', 'tiny', 'small', 'base', 'paper']
INFER_VARIANTS = ['f32', 'xla', 'bf16', 'bf16_xla', 'onnx', 'f32_fix', 'bf16_fix']
TRAIN_VARIANTS = ['f32', 'xla', 'bf16', 'bf16_xla', 'f32_fix', 'bf16_xla_fix']
TOL_F32, TOL_BF16 = 1e-4, 2e-2
OPS_FIELDS = ['preset', 'mode', 'op', 'f32_s', 'bf16_s', 'bf16_over_f32', 'nodes', 'load1']
FIELDS = ['preset', 'variant', 'measure', 'value', 'unit', 'median', 'min', 'max', 'n', 'speedup_vs_f32',
          'gflops', 'pct_ceiling', 'max_abs_diff', 'tol', 'guard', 'worker', 'load1', 'note']

# ----------------------------------------------------------------------------------------------------
# helpers used inside the workers (TensorFlow is imported lazily, after thread settings)

def _rss_mb()->float:
    "Peak resident set of this process, MiB (Linux ru_maxrss is in KiB)."
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

def _median(v): v = sorted(v); n = len(v); return (v[n // 2] + v[(n - 1) // 2]) / 2

def _stats(ts:list)->dict: return dict(median=_median(ts), min=min(ts), max=max(ts), n=len(ts))

def _sync(out):
    "Block until a result is computed (converting to NumPy) and return it as a NumPy array or list."
    import numpy as np, tensorflow as tf
    flat = [np.asarray(o) for o in tf.nest.flatten(out)]
    return flat[0] if len(flat) == 1 else flat

def _round_robin(fns:dict, repeats:int, warmup:int)->tuple:
    """Warm up every callable, then time them in interleaved rounds (load drift hits all variants alike).
    A variant that fails in its warm-up is dropped; its error message is returned instead."""
    first, outs, errors = {}, {}, {}
    for k, f in list(fns.items()):
        try:
            t = time.perf_counter(); outs[k] = _sync(f())
            first[k] = time.perf_counter() - t
            for _ in range(warmup - 1): _sync(f())
        except Exception as e:
            errors[k] = f'{type(e).__name__}: {str(e).strip().splitlines()[0][:400]}'
            print(f'variant {k} failed: {e}', file=sys.stderr, flush=True)
    fns = {k: f for k, f in fns.items() if k not in errors}; times = {k: [] for k in fns}
    for _ in range(repeats):
        for k, f in fns.items():
            t = time.perf_counter(); _sync(f()); times[k].append(time.perf_counter() - t)
    return times, first, outs, errors

def _error_rows(errors:dict, measure:str)->list:
    return [dict(variant=k, measure='error', value=measure, note=msg) for k, msg in errors.items()]

@contextlib.contextmanager
def _plain_model():
    """Build models as the plain Keras graph: Keras' own transposed convolution instead of llie's split-4 inference
    form (`llie.model.Conv2DTranspose`). The baseline of every ratio; `_fix` variants are llie's model as shipped."""
    import llie.model as lm
    orig = lm.Conv2DTranspose.split4_default
    lm.Conv2DTranspose.split4_default = False
    try: yield
    finally: lm.Conv2DTranspose.split4_default = orig

def _build(preset:str, variant:str, weights:list):
    "A model of `preset` for `variant` (precision; `_fix`: llie's model as shipped, else the plain Keras graph) holding `weights`."
    import keras
    from llie.model import build_mirnet, set_precision
    set_precision('mixed_bfloat16' if variant.startswith('bf16') else 'float32')
    try:
        with (contextlib.nullcontext() if variant.endswith('_fix') else _plain_model()):
            m = build_mirnet(preset)
    finally: set_precision('float32')
    m.set_weights(weights)
    return m

def _base_weights(preset:str, tmp:Path)->list:
    "The preset's float32 weights, the same in every worker of the run (seeded, saved once to `tmp`)."
    import keras
    from llie.model import build_mirnet, set_precision
    set_precision('float32'); keras.utils.set_random_seed(0)
    m = build_mirnet(preset); wpath = tmp/f'{preset}.weights.h5'
    if wpath.exists(): m.load_weights(wpath)
    else:
        with atomic_path(wpath) as t: m.save_weights(t)
    return m.get_weights()

def _real_image(data:str):
    "A LOL low-light test image (HxWx3 float32) and its name; the guard and inference input."
    from llie.data import get_splits, read_image
    pair = get_splits(data)['test'][0]
    return read_image(pair.low), read_image(pair.high), str(pair.low)

def _const_batch(low, high, batch:int, crop:int):
    "`batch` fixed crops (different windows) of one real pair: the constant in-memory training batch."
    import numpy as np, tensorflow as tf
    h, w = low.shape[:2]; rs = np.random.RandomState(0)
    ys, xs = rs.randint(0, h - crop + 1, batch), rs.randint(0, w - crop + 1, batch)
    lo = np.stack([low[y:y + crop, x:x + crop] for y, x in zip(ys, xs)]); hi = np.stack([high[y:y + crop, x:x + crop] for y, x in zip(ys, xs)])
    return tf.constant(lo), tf.constant(hi)

def _compile(m, jit:bool):
    import keras
    from llie.loss import CharbonnierLoss
    m.compile(optimizer=keras.optimizers.Adam(1e-4), loss=CharbonnierLoss(), jit_compile=jit)
    return m

def _tf_setup(intra:int=0, inter:int=0):
    import tensorflow as tf
    if intra or inter:
        tf.config.threading.set_intra_op_parallelism_threads(intra)
        tf.config.threading.set_inter_op_parallelism_threads(inter)
    return tf

# ----------------------------------------------------------------------------------------------------
# workers: each prints nothing but logs; returns a list of row dicts

def w_ceiling(a)->list:
    "This machine's matmul ceiling, float32 and bfloat16 (best of the repeats: a ceiling)."
    tf = _tf_setup(); rows = []
    n = a.matmul_n
    for name, dt in [('f32', tf.float32), ('bf16', tf.bfloat16)]:
        x = tf.cast(tf.random.stateless_normal([n, n], [0, 1]), dt); y = tf.cast(tf.random.stateless_normal([n, n], [0, 2]), dt)
        f = tf.function(lambda x, y: tf.linalg.matmul(x, y))
        ts, _, _, err = _round_robin({name: lambda: f(x, y)}, max(3, a.repeats), 1)
        if err: rows += _error_rows(err, 'matmul_gflops'); continue
        ts = ts[name]; gf = 2 * n**3 / min(ts) / 1e9
        rows.append(dict(preset='machine', variant=f'{name}_{a.tag}', measure='matmul_gflops', value=gf, unit='GFLOP/s',
                         **_stats(ts), gflops=gf, note=f'{n}x{n} tf.linalg.matmul, best of {len(ts)}'))
    return rows

def w_infer(a)->list:
    "Inference per 600x400 image for every inference variant, numerical guard, FLOPs, peak memory."
    tf = _tf_setup(); import numpy as np
    from llie.model import count_flops
    tmp = Path(a.tmp); w = _base_weights(a.preset, tmp)
    low, high, name = _real_image(a.data); x = tf.constant(low[None])
    models = {v: _build(a.preset, v, w) for v in a.variants if v != 'onnx'}
    m32 = models.get('f32') or _build(a.preset, 'f32', w)
    flops = count_flops(m32, low.shape[:2])
    rows = [dict(variant='model', measure='params_M', value=m32.count_params() / 1e6, unit='M'),
            dict(variant='model', measure='gflop_forward', value=flops / 1e9, unit='GFLOP', note=f'{low.shape[1]}x{low.shape[0]} input, TF profiler')]
    fns = {}
    for v, m in models.items():
        f = tf.function(lambda x, m=m: m(x, training=False), jit_compile='xla' in v)
        fns[v] = lambda f=f: f(x)
    if 'onnx' in a.variants:
        from llie.export import export_onnx, onnx_session
        t = time.perf_counter(); p = export_onnx(m32, tmp/f'{a.preset}.onnx', overwrite=True)
        rows.append(dict(variant='onnx', measure='export_s', value=time.perf_counter() - t, unit='s', note='tf2onnx via llie.export.export_onnx'))
        sess = onnx_session(p); iname = sess.get_inputs()[0].name; xn = low[None]
        fns['onnx'] = lambda: sess.run(None, {iname: xn})[0]
    times, first, outs, err = _round_robin(fns, a.repeats, a.warmup)
    rows += _error_rows(err, 'infer_s')
    ref = outs.get('f32')
    if ref is None: ref = _sync(m32(x, training=False))
    np.save(tmp/f'{a.preset}.ref.npy', ref)
    for v in times:
        diff = float(np.max(np.abs(outs[v].astype(np.float32) - ref))) if v != 'f32' else 0.0
        rows.append(dict(variant=v, measure='infer_s', value=_median(times[v]), unit='s/image', **_stats(times[v]),
                         flops=flops, max_abs_diff=diff, note=f'{low.shape[1]}x{low.shape[0]} {Path(name).name}'))
        rows.append(dict(variant=v, measure='first_call_s', value=first[v], unit='s', note='trace/compile + first run'))
    rows.append(dict(variant='infer_worker', measure='peak_rss_mb', value=_rss_mb(), unit='MiB', note='all inference variants in one process'))
    return rows

def w_train(a)->list:
    "Seconds per training step on a constant in-memory batch for every training variant."
    tf = _tf_setup(); import numpy as np
    from llie.model import count_flops
    tmp = Path(a.tmp); w = _base_weights(a.preset, tmp)
    low, high, _ = _real_image(a.data); xb, yb = _const_batch(low, high, a.batch, a.crop)
    models = {v: _compile(_build(a.preset, v, w), 'xla' in v) for v in a.variants}
    flops = 3 * count_flops(models[next(iter(models))], (a.crop, a.crop)) * a.batch  # forward + ~2x backward
    fns = {v: (lambda m=m: m.train_on_batch(xb, yb)) for v, m in models.items()}
    times, first, outs, err = _round_robin(fns, a.repeats, max(a.warmup, 2))
    rows = _error_rows(err, 'train_step_s')
    for v in times:
        rows.append(dict(variant=v, measure='train_step_s', value=_median(times[v]), unit='s/step', **_stats(times[v]), flops=flops,
                         note=f'{a.batch}x{a.crop}x{a.crop}, Adam, Charbonnier; FLOPs = 3 x forward (estimate)'))
        rows.append(dict(variant=v, measure='train_first_call_s', value=first[v], unit='s', note='trace/compile + first step'))
    rows.append(dict(variant='train_worker', measure='peak_rss_mb', value=_rss_mb(), unit='MiB', note='all training variants in one process'))
    return rows

def w_data(a)->list:
    "Input-pipeline images/s, and a float32 step fed by the pipeline vs the same step on a constant batch."
    tf = _tf_setup()
    from llie.data import get_splits, train_dataset
    tmp = Path(a.tmp); w = _base_weights(a.preset, tmp)
    pairs = get_splits(a.data)['train']
    t = time.perf_counter(); ds = train_dataset(pairs, a.crop, a.batch, seed=0); it = iter(ds)
    setup = time.perf_counter() - t
    for _ in range(3): next(it)
    t = time.perf_counter()
    for _ in range(a.batches): next(it)
    ips = a.batches * a.batch / (time.perf_counter() - t)
    rows = [dict(variant='pipeline', measure='pipeline_setup_s', value=setup, unit='s', note=f'train_dataset on {len(pairs)} train pairs (decode + cache)'),
            dict(variant='pipeline', measure='pipeline_img_s', value=ips, unit='crops/s', n=a.batches,
                 note=f'{a.batches} batches of {a.batch}x{a.crop}x{a.crop} after 3 warm-up, no model running')]
    m = _compile(_build(a.preset, 'f32', w), False)
    xb, yb = next(it); waits = []
    def fed():
        t = time.perf_counter(); x, y = next(it); waits.append(time.perf_counter() - t)
        return m.train_on_batch(x, y)
    times, _, _, err = _round_robin({'f32_const': lambda: m.train_on_batch(xb, yb), 'f32_data': fed}, a.repeats, 2)
    if err: return rows + _error_rows(err, 'train_step_s') + [dict(variant='data_worker', measure='peak_rss_mb', value=_rss_mb(), unit='MiB')]
    c, d = _median(times['f32_const']), _median(times['f32_data'])
    rows += [dict(variant='f32_const', measure='train_step_s', value=c, unit='s/step', **_stats(times['f32_const']), note='constant in-memory batch, same process'),
             dict(variant='f32_data', measure='train_step_s', value=d, unit='s/step', **_stats(times['f32_data']), note='batch from train_dataset (next() included)'),
             dict(variant='f32_data', measure='data_wait_pct', value=100 * (d - c) / c, unit='%', note=f'(fed - constant) / constant; median next() {_median(waits[-a.repeats:]) * 1e3:.1f} ms'),
             dict(variant='data_worker', measure='peak_rss_mb', value=_rss_mb(), unit='MiB', note='pipeline cache + one float32 model')]
    return rows

def w_threads(a)->list:
    "float32 inference and training step with TensorFlow's intra/inter-op thread pools set before start."
    tf = _tf_setup(a.intra, a.inter); import numpy as np
    from llie.model import count_flops
    tmp = Path(a.tmp); w = _base_weights(a.preset, tmp)
    low, high, name = _real_image(a.data); x = tf.constant(low[None])
    m = _build(a.preset, 'f32', w); f = tf.function(lambda x: m(x, training=False))
    mt = _compile(_build(a.preset, 'f32', w), False); xb, yb = _const_batch(low, high, a.batch, a.crop)
    v = f'threads_{a.intra}x{a.inter}' if a.intra or a.inter else 'threads_default'
    times, first, outs, err = _round_robin({'i': lambda: f(x), 't': lambda: mt.train_on_batch(xb, yb)}, a.repeats, a.warmup)
    if err: raise RuntimeError(err)
    refp = tmp/f'{a.preset}.ref.npy'
    diff = float(np.max(np.abs(outs['i'] - np.load(refp)))) if refp.exists() else None
    return [dict(variant=v, measure='infer_s', value=_median(times['i']), unit='s/image', **_stats(times['i']), flops=count_flops(m, low.shape[:2]),
                 max_abs_diff=diff, note=f'intra_op={a.intra} inter_op={a.inter} (own process)'),
            dict(variant=v, measure='train_step_s', value=_median(times['t']), unit='s/step', **_stats(times['t']),
                 flops=3 * count_flops(m, (a.crop, a.crop)) * a.batch, note=f'intra_op={a.intra} inter_op={a.inter} (own process)'),
            dict(variant=v, measure='peak_rss_mb', value=_rss_mb(), unit='MiB')]

def w_ops(a)->list:
    "Per-op-type time of float32 vs mixed_bfloat16 (inference and one gradient step), from TF step stats."
    tf = _tf_setup(); import collections, numpy as np
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2
    from llie.loss import charbonnier_loss
    tmp = Path(a.tmp); w = _base_weights(a.preset, tmp); rows = []
    for mode, shape in [('infer', [1, 400, 600, 3]), ('train', [a.batch, a.crop, a.crop, 3])]:
        per = {}
        for v in ['f32', 'bf16']:
            m = _build(a.preset, v, w)
            def step(x, m=m):
                if mode == 'infer': return m(x, training=False)
                with tf.GradientTape() as tape: loss = charbonnier_loss(x, m(x, training=True))
                return tape.gradient(loss, m.trainable_variables)
            frozen = convert_variables_to_constants_v2(tf.function(step).get_concrete_function(tf.TensorSpec(shape, tf.float32)))
            g = tf.Graph()
            with g.as_default():
                ph = tf.compat.v1.placeholder(tf.float32, shape)
                outs = tf.graph_util.import_graph_def(frozen.graph.as_graph_def(), input_map={frozen.inputs[0].name: ph},
                                                      return_elements=[o.name for o in frozen.outputs])
            ops = {n.name: n.op for n in g.as_graph_def().node}
            xv = np.random.RandomState(0).rand(*shape).astype('float32'); agg = collections.Counter(); cnt = collections.Counter()
            with tf.compat.v1.Session(graph=g) as s:
                s.run(outs, {ph: xv}); md = tf.compat.v1.RunMetadata()
                t = time.perf_counter()
                s.run(outs, {ph: xv}, options=tf.compat.v1.RunOptions(trace_level=tf.compat.v1.RunOptions.FULL_TRACE), run_metadata=md)
                wall = time.perf_counter() - t
            for dev in md.step_stats.dev_stats:
                for ns in dev.node_stats:
                    op = ops.get(ns.node_name.split(':')[0])
                    if op: agg[op] += ns.all_end_rel_micros / 1e6; cnt[op] += 1
            per[v] = (agg, cnt, wall)
        for op in set(per['f32'][0]) | set(per['bf16'][0]):
            f, b = per['f32'][0][op], per['bf16'][0][op]
            if max(f, b) < 1e-3: continue
            rows.append(dict(mode=mode, op=op, f32_s=f, bf16_s=b, bf16_over_f32=b / f if f else None, nodes=per['bf16'][1][op]))
        rows.append(dict(mode=mode, op='(traced run wall time)', f32_s=per['f32'][2], bf16_s=per['bf16'][2], bf16_over_f32=per['bf16'][2] / per['f32'][2]))
    return rows

WORKERS = dict(ceiling=w_ceiling, infer=w_infer, train=w_train, data=w_data, threads=w_threads, ops=w_ops)

def worker_main(argv:list):
    p = argparse.ArgumentParser()
    p.add_argument('kind'); p.add_argument('--preset', default='-'); p.add_argument('--out', required=True)
    p.add_argument('--tmp'); p.add_argument('--data'); p.add_argument('--repeats', type=int, default=5)
    p.add_argument('--warmup', type=int, default=2); p.add_argument('--batch', type=int, default=4); p.add_argument('--crop', type=int, default=128)
    p.add_argument('--batches', type=int, default=50); p.add_argument('--variants', default=''); p.add_argument('--intra', type=int, default=0)
    p.add_argument('--inter', type=int, default=0); p.add_argument('--matmul-n', type=int, default=4096); p.add_argument('--tag', default='')
    a = p.parse_args(argv); a.variants = [v for v in a.variants.split(',') if v]
    load1 = os.getloadavg()[0]
    rows = WORKERS[a.kind](a)
    for r in rows: r.setdefault('preset', a.preset); r.setdefault('worker', a.kind); r.setdefault('load1', load1)
    with atomic_write(a.out) as f: json.dump(rows, f)

# ----------------------------------------------------------------------------------------------------
# orchestrator (no TensorFlow in this process)

def _post(rows:list)->list:
    "Speed-ups against the same preset's plain float32 graph, GFLOP/s, percent of ceiling, numerical guard."
    ceil = {}
    for r in rows:
        if r.get('measure') == 'matmul_gflops': k = r['variant'].split('_')[0]; ceil[k] = max(ceil.get(k, 0), r['value'])
    base = {(r['preset'], r['variant'], r['measure']): r['value'] for r in rows if r['variant'] in ('f32', 'f32_const', 'threads_default')}
    for r in rows:  # f32_data is compared with f32_const (same process), threads_IxJ with threads_default (a process alike), the rest with f32
        if r['measure'] in ('infer_s', 'train_step_s'):
            ref = {'f32_data': 'f32_const', 'f32_const': 'f32_const'}.get(r['variant'], 'threads_default' if r['variant'].startswith('threads_') else 'f32')
            b = base.get((r['preset'], ref, r['measure']))
            if b: r['speedup_vs_f32'] = b / r['value']
            fl = r.pop('flops', None)
            if fl:
                r['gflops'] = fl / r['value'] / 1e9
                c = max(ceil.get('f32', 0), ceil.get('bf16', 0)) if r['variant'].startswith('bf16') else ceil.get('f32')
                if c: r['pct_ceiling'] = 100 * r['gflops'] / c
        if r.get('max_abs_diff') is not None and r['measure'] == 'infer_s' and r['variant'] != 'f32':
            r['tol'] = TOL_BF16 if r['variant'].startswith('bf16') else TOL_F32
            r['guard'] = 'ok' if r['max_abs_diff'] <= r['tol'] else 'VIOLATION'
        r.pop('flops', None)
    return rows

def _fmt(v, spec='.3g'):
    return '' if v is None or v == '' else (format(v, spec) if isinstance(v, (int, float)) else str(v))

def table(rows:list)->str:
    "The short Markdown summary: per preset and variant, inference and training with speed-ups and guards."
    get = lambda p, v, m: next((r for r in rows if r['preset'] == p and r['variant'] == v and r['measure'] == m), None)
    out = ['| preset | variant | infer s/img | x f32 | GFLOP/s (% ceil) | train s/step | x f32 | max abs diff | guard |',
           '|---|---|---|---|---|---|---|---|---|']
    presets = [p for p in dict.fromkeys(r['preset'] for r in rows) if p not in ('machine',)]
    for p in presets:
        vs = [v for v in dict.fromkeys(r['variant'] for r in rows if r['preset'] == p and r['measure'] in ('infer_s', 'train_step_s'))]
        for v in vs:
            i, t = get(p, v, 'infer_s'), get(p, v, 'train_step_s')
            gf = f"{_fmt(i.get('gflops'))} ({_fmt(i.get('pct_ceiling'), '.1f')}%)" if i and i.get('gflops') else \
                 (f"{_fmt(t.get('gflops'))} ({_fmt(t.get('pct_ceiling'), '.1f')}%) train" if t and t.get('gflops') else '')
            out.append(f"| {p} | {v} | {_fmt(i and i['value'])} | {_fmt(i and i.get('speedup_vs_f32'), '.2f')} | {gf} | "
                       f"{_fmt(t and t['value'])} | {_fmt(t and t.get('speedup_vs_f32'), '.2f')} | {_fmt(i and i.get('max_abs_diff'), '.2e')} | {(i or {}).get('guard', '')} |")
        extra = []
        for v, m, u in [('pipeline', 'pipeline_img_s', 'pipeline %s crops/s'), ('f32_data', 'data_wait_pct', 'data wait %s%%'),
                        ('model', 'gflop_forward', 'forward %s GFLOP'), ('model', 'params_M', '%sM params')]:
            r = get(p, v, m)
            if r: extra.append(u % _fmt(r['value']))
        rss = [f"{r['variant'].replace('_worker', '')} {r['value']:.0f}" for r in rows if r['preset'] == p and r['measure'] == 'peak_rss_mb']
        if rss: extra.append('peak RSS MiB: ' + ', '.join(rss))
        if extra: out.append(f'\n{p}: ' + '; '.join(extra) + '\n')
    ce = [f"{r['variant']} {r['value']:.0f}" for r in rows if r['measure'] == 'matmul_gflops']
    if ce: out.append('machine matmul GFLOP/s: ' + ', '.join(ce))
    loads = [r['load1'] for r in rows if isinstance(r.get('load1'), (int, float))]
    if loads and max(loads) > (os.cpu_count() or 1) + 0.5:
        out.append(f'WARNING: 1-minute load average reached {max(loads):.1f} on {os.cpu_count()} cores during the run: timings are contended.')
    bad = [f"{r['preset']}/{r['variant']}" for r in rows if r.get('guard') == 'VIOLATION']
    out.append('numerical guard violations: ' + (', '.join(bad) if bad else 'none'))
    errs = [f"{r['preset']}/{r['variant']} ({r['worker']}): {str(r.get('note', ''))[:160]}" for r in rows if r['measure'] == 'error']
    if errs: out.append('FAILED (see the CSV and logs/):\n  ' + '\n  '.join(errs))
    return '\n'.join(out)

def _write(rows:list, out:Path, fields=FIELDS):
    with atomic_write(out) as f:
        w = csv.DictWriter(f, fields, extrasaction='ignore'); w.writeheader()
        for r in rows: w.writerow({k: (f'{v:.6g}' if isinstance(v, float) else v) for k, v in r.items()})

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--presets', default=','.join(ALL_PRESETS), help='comma-separated presets (' + ','.join(ALL_PRESETS) + ')')
    p.add_argument('--repeats', type=int, default=5, help='timed repeats per measurement (median reported), after warm-up')
    p.add_argument('--quick', action='store_true', help='short warm-up, 10 pipeline batches, one thread setting (checks the script works)')
    p.add_argument('--out', default=str(ROOT/'benchmarks/results/bench.csv'), help='CSV to write (a .json, .md and logs/ go beside it)')
    p.add_argument('--data', default=str(shared_dir()/'datasets/LOL-v1'), help='paired dataset (folder/zip) for the real image and the pipeline')
    p.add_argument('--batch', type=int, default=4, help="training batch (the paper recipe's 4)")
    p.add_argument('--crop', type=int, default=128, help="training crop side (the paper recipe's 128)")
    p.add_argument('--threads', default=None, help='intra:inter thread settings to try, e.g. "1:1,2:1,1:2" (default: that; --quick: "2:1")')
    p.add_argument('--infer-variants', default=','.join(INFER_VARIANTS), help='inference variants (f32 is always run)')
    p.add_argument('--train-variants', default=','.join(TRAIN_VARIANTS), help='training variants (f32 is always run)')
    p.add_argument('--skip', default='', help='worker kinds to skip: ceiling,infer,train,data,threads')
    p.add_argument('--profile-ops', action='store_true', help='also time every op type in float32 vs mixed_bfloat16 (why bf16 is slow)')
    p.add_argument('--timeout', type=float, default=4 * 3600, help='seconds per worker subprocess')
    a = p.parse_args(argv)
    presets = [s.strip() for s in a.presets.split(',') if s.strip()]
    bad = [s for s in presets if s not in ALL_PRESETS]
    if bad: raise SystemExit(f'unknown preset(s) {", ".join(bad)}; choose from {", ".join(ALL_PRESETS)}')
    if a.repeats < 1: raise SystemExit('--repeats must be at least 1')
    if not Path(a.data).exists(): raise SystemExit(f'{a.data}: dataset not found (pass --data)')
    out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True); logs = out.parent/'logs'; logs.mkdir(exist_ok=True)
    threads = [tuple(int(x) for x in s.split(':')) for s in (a.threads or ('2:1' if a.quick else '1:1,2:1,1:2')).split(',') if s]
    threads = [(0, 0)] + [t for t in threads if t != (0, 0)]  # TensorFlow's defaults first: the threads baseline
    iv = ['f32'] + [v for v in a.infer_variants.split(',') if v and v != 'f32']
    tv = ['f32'] + [v for v in a.train_variants.split(',') if v and v != 'f32']
    for v in iv + tv:
        if v not in INFER_VARIANTS + TRAIN_VARIANTS: raise SystemExit(f'unknown variant {v!r}')
    skip = set(a.skip.split(',')) - {''}
    mm = ['--matmul-n', '2048' if a.quick else '4096']
    common = ['--data', a.data, '--repeats', str(a.repeats), '--warmup', '1' if a.quick else '2', '--batch', str(a.batch), '--crop', str(a.crop)]
    env = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2', 'PYTHONWARNINGS': 'ignore'}
    rows, t0 = [], time.time()
    out.with_name(out.stem + '_ops.csv').unlink(missing_ok=True)  # no stale op profile from an earlier run
    info = {**env_info(), 'args': vars(a), 'loadavg_start': os.getloadavg(), 'cpu_flags': _cpu_flags(), 'started': time.strftime('%Y-%m-%d %H:%M:%S')}
    save_json(info, out.with_suffix('.json'))

    def run(kind, preset='-', extra=(), name=None):
        name = name or f'{kind}-{preset}'
        res = out.parent/f'.{name}.rows.json'
        cmd = [sys.executable, str(Path(__file__).resolve()), '--worker', kind, '--preset', preset, '--out', str(res), '--tmp', str(tmp), *common, *extra]
        print(f'[{time.time() - t0:7.0f}s] {name} ...', flush=True)
        t = time.time()
        with open(logs/f'{name}.log', 'w') as log:
            try: rc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT, timeout=a.timeout).returncode
            except subprocess.TimeoutExpired: rc = 'timeout'
        if rc == 0 and res.exists():
            new = json.loads(res.read_text()); res.unlink()
        else:
            tail = (logs/f'{name}.log').read_text(errors='replace').strip().splitlines()[-1:] or ['']
            new = [dict(preset=preset, variant=name, measure='error', value=rc, worker=kind, note=tail[0][:300])]
            print(f'  FAILED ({rc}): {tail[0][:300]}  (log: {logs/f"{name}.log"})', flush=True)
        print(f'  done in {time.time() - t:.0f}s', flush=True)
        rows.extend(new); _write(_post([dict(r) for r in rows if 'measure' in r]), out)

    with tempfile.TemporaryDirectory(prefix='llie-bench-') as tmp:
        if 'ceiling' not in skip: run('ceiling', extra=['--tag', 'start', *mm], name='ceiling-start')
        for ps in presets:
            if 'infer' not in skip: run('infer', ps, ['--variants', ','.join(iv)])
            if 'train' not in skip: run('train', ps, ['--variants', ','.join(tv)])
            if 'data' not in skip: run('data', ps, ['--batches', '10' if a.quick else '50'])
            if 'threads' not in skip:
                for i, j in threads: run('threads', ps, ['--intra', str(i), '--inter', str(j)], name=f'threads-{ps}-{i}x{j}' if i or j else f'threads-{ps}-default')
            if a.profile_ops: run('ops', ps)
        if 'ceiling' not in skip: run('ceiling', extra=['--tag', 'end', *mm], name='ceiling-end')
    ops = [r for r in rows if 'op' in r and 'measure' not in r]
    rows = _post([r for r in rows if 'measure' in r])
    _write(rows, out)
    if ops: _write(ops, out.with_name(out.stem + '_ops.csv'), OPS_FIELDS)
    info.update(loadavg_end=os.getloadavg(), seconds=time.time() - t0); save_json(info, out.with_suffix('.json'))
    txt = table(rows)
    if ops:
        txt += '\n\nslowest op types under mixed_bfloat16 (node time summed over threads; float32 -> bf16 seconds):\n'
        for ps in dict.fromkeys(r['preset'] for r in ops):
            for mode in ('infer', 'train'):
                sel = [r for r in ops if r['preset'] == ps and r['mode'] == mode]
                wall = next((r for r in sel if r['op'].startswith('(')), None)
                top = sorted((r for r in sel if not r['op'].startswith('(')), key=lambda r: -r['bf16_s'])[:6]
                txt += f'  {ps} {mode}' + (f" (wall {wall['f32_s']:.2f} -> {wall['bf16_s']:.2f} s)" if wall else '') + ': ' + \
                       '; '.join(f"{r['op']} {r['f32_s']:.3f}->{r['bf16_s']:.3f}" for r in top) + '\n'
    with atomic_write(out.with_suffix('.md')) as f: f.write(txt + '\n')
    print(f'\nresults: {out} (+ {out.with_suffix(".json").name}, {out.with_suffix(".md").name}, logs/) in {time.time() - t0:.0f}s\n')
    print(txt)

def _cpu_flags()->dict:
    try: flags = set(next(l for l in open('/proc/cpuinfo') if l.startswith('flags')).split(':', 1)[1].split())
    except Exception: flags = set()
    try: model = next(l for l in open('/proc/cpuinfo') if l.startswith('model name')).split(':', 1)[1].strip()
    except Exception: model = platform.processor()
    return dict(model=model, **{f: f in flags for f in ['avx2', 'fma', 'avx512f', 'avx512_bf16', 'amx_bf16', 'avx512_vnni', 'avx_vnni']})

if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1] == '--worker': worker_main(sys.argv[2:])
    else: main()
