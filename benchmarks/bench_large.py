"""Large photos with `llie enhance`: seconds and peak memory for a synthetic N-megapixel photo (default 12 MP), tiled
(`--full-res`) and by the fast path (the default since session 27), and both paths' quality on LOL validation images
(which, shrunk, are thumbnails: `fast_probe.py --large` measures the fast path on stand-ins for large photos).

    python benchmarks/bench_large.py                    # 12 MP timing + memory, both paths, each in a fresh process
    python benchmarks/bench_large.py --megapixels 0.5   # a quick run that proves the script works
    python benchmarks/bench_large.py --paths fast       # time only the fast path
    python benchmarks/bench_large.py --val 42           # quality: whole image vs tiled vs fast, PSNR to the ground truth

Timing runs `llie.enhance.enhance_files` on a JPEG (read, enhance, write: what a user waits for) in a child process
per configuration, after the model is loaded and warmed up; peak memory is the child's maximum resident set size.
Results go to benchmarks/results/bench_large.json (and are printed). Run it on an idle machine: timings are the point.

Measured (session 14, the shipped run-16 model, `--no-timing --val 62 --scales 2`; PSNR to the ground truth / mean
|x - whole image| in 1/255): whole image 20.61 dB; 256-pixel tiles with context='local' 19.20 dB / 10.1; with
context='global' (window-weighted statistics, two estimation passes) 20.62 dB / 0.048; fast path shrunk 2x 20.06 dB /
7.6. Session 16, run 17 (shipped since), `--no-timing --val 62 --scales 2,3`: whole 20.83, tiled global 20.84 / 0.063,
fast 2x 20.34 / 7.9, 3x 19.92 / 11.8. Timings: benchmarks/README.md.
"""
import os, sys, json, time, argparse, platform, resource, subprocess, tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHILD = r'''
import sys, time, json, resource
from pathlib import Path
import numpy as np
from llie.enhance import get_model, get_fast_model, enhance_files, warm_up
src, out, fast, weights = sys.argv[1], sys.argv[2], sys.argv[3] == '1', (sys.argv[4] or None)
t = time.perf_counter(); m = get_model(weights); warm_up(m)
if fast: warm_up(get_fast_model(m)) # the fast path's own weights, if the model has them (loaded once, like the model)
t_load = time.perf_counter() - t
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter(); s = enhance_files([src], out, weights=m, fmt='jpg', fast=fast, progress=False, overwrite=True)
dt = time.perf_counter() - t
assert s['done'] and not s['failed'], s
print(json.dumps({'seconds': dt, 'load_and_warmup_seconds': t_load, 'megapixels': s['megapixels'],
                  'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 'rss_before_mb': rss0 / 1024}))
'''


def synthetic_photo(h, w, seed=0):
    "A dark photo-like image (uint8): smooth uneven light, edges, texture and sensor-like noise."
    import numpy as np
    r = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    light = 0.04 + 0.3 * np.exp(-((xx - 0.3 * w) ** 2 + (yy - 0.6 * h) ** 2) / (0.08 * w * w))
    base = np.stack([0.6 + 0.4 * np.sin(xx / (0.01 * w) + c) * np.cos(yy / (0.017 * h) - c) for c in (0, 1, 2)], -1)
    base[((xx // (w / 7) + yy // (h / 5)) % 2) == 0] *= 0.45
    img = base * light[..., None] + r.normal(0, 0.012, (h, w, 3)).astype(np.float32)
    return np.clip(np.round(img * 255), 0, 255).astype(np.uint8)


def timing(mp, weights, reps, paths=('tiled', 'fast')):
    from PIL import Image
    h = int(round((mp * 1e6 * 3 / 4) ** 0.5)); w = int(round(h * 4 / 3))
    res = {'size': [h, w], 'megapixels': h * w / 1e6}
    with tempfile.TemporaryDirectory() as d:
        src = Path(d)/'photo.jpg'
        Image.fromarray(synthetic_photo(h, w)).save(src, quality=92)
        for name, fast in [(n, f) for n, f in (('tiled', '0'), ('fast', '1')) if n in paths]:
            runs = []
            for _ in range(reps):
                r = subprocess.run([sys.executable, '-c', CHILD, str(src), str(Path(d)/name), fast, weights or ''],
                                   capture_output=True, text=True, cwd=ROOT, env={**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '3'})
                if r.returncode: raise SystemExit(r.stderr[-3000:])
                runs.append(json.loads(r.stdout.strip().splitlines()[-1]))
            best = min(runs, key=lambda o: o['seconds'])
            res[name] = {**best, 's_per_mp': best['seconds'] / best['megapixels'], 'all_seconds': [o['seconds'] for o in runs]}
            print(f"{name:6s} {res['megapixels']:.1f} MP: {best['seconds']:.2f} s ({res[name]['s_per_mp']:.2f} s/MP), "
                  f"peak RSS {best['peak_rss_mb']:.0f} MB", flush=True)
    return res


def quality(n, weights, scales):
    "PSNR to the ground truth on the first `n` LOL validation pairs: whole image, 256-pixel tiles (local and global context, default overlap), fast path at `scales` (with the model's fast-path weights if it has them); *_mad: mean |x - whole| in 1/255."
    import numpy as np
    from llie.enhance import get_model, get_fast_model, enhance_array, enhance_fast
    from llie.data import read_image
    from llie.metrics import psnr
    sp = next((ROOT/'reports'/r/'splits.json' for r in ('default-model', 'lol-fast-stage9') if (ROOT/'reports'/r/'splits.json').exists()), None)
    if sp is None: raise SystemExit('no splits.json of the shipped model\'s report (reports/default-model/) to take validation pairs from')
    splits = json.loads(sp.read_text())['splits']['val'][:n]
    m = get_model(weights); fm = get_fast_model(m) # the fast path runs its own weights where the model has them
    rows = {'whole': [], **{f'tiled256_{c}{k}': [] for c in ('local', 'global') for k in ('', '_mad')},
            **{f'fast_x{s}{k}': [] for s in scales for k in ('', '_mad')}}
    for p in splits:
        x, gt = read_image(p['low']), read_image(p['high'])
        y = enhance_array(x, m, tile=None)
        rows['whole'].append(float(psnr(y, gt)))
        for c in ('local', 'global'):
            t = enhance_array(x, m, tile=256, context=c)
            rows[f'tiled256_{c}'].append(float(psnr(t, gt))); rows[f'tiled256_{c}_mad'].append(float(np.abs(t - y).mean() * 255))
        for s in scales:
            f = enhance_fast(x, fm, scale=s)
            rows[f'fast_x{s}'].append(float(psnr(f, gt))); rows[f'fast_x{s}_mad'].append(float(np.abs(f - y).mean() * 255))
    res = {'pairs': len(splits), **{k: float(np.mean(v)) for k, v in rows.items()}}
    for k, v in res.items(): print(f'{k:14s} {v:.4f}' if isinstance(v, float) else f'{k:14s} {v}')
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--megapixels', type=float, default=12.)
    ap.add_argument('--reps', type=int, default=2, help='runs per configuration (the fastest is kept)')
    ap.add_argument('--paths', default='tiled,fast', help='which paths to time: tiled, fast or both')
    ap.add_argument('--weights', default=None, help='default: the shipped model')
    ap.add_argument('--val', type=int, default=0, help='also measure quality on this many LOL validation pairs')
    ap.add_argument('--scales', default='2,3', help='fast-path shrink factors for the quality measurement')
    ap.add_argument('--no-timing', action='store_true')
    ap.add_argument('--out', default=str(ROOT/'benchmarks'/'results'/'bench_large.json'))
    a = ap.parse_args()
    res = {'machine': {'processor': platform.processor(), 'cpu_count': os.cpu_count(), 'platform': platform.platform()}}
    try: res['machine']['cpu'] = next(l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name'))
    except Exception: pass
    paths = a.paths.split(',')
    if set(paths) - {'tiled', 'fast'}: ap.error(f'--paths: tiled and/or fast, not {a.paths!r}')
    if not a.no_timing: res['timing'] = timing(a.megapixels, a.weights, a.reps, paths)
    if a.val: res['quality'] = quality(a.val, a.weights, [int(s) for s in a.scales.split(',')])
    sys.path.insert(0, str(ROOT))
    from llie.core import save_json
    save_json(res, a.out); print('written', a.out)


if __name__ == '__main__': main()
