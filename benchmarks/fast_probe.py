"""The fast path (`enhance(..., fast=True)`) with weights of its own, against the shipped weights, on LOL pairs.

    python benchmarks/fast_probe.py out.json reports/fast-probe/last.weights.h5            # the 62 validation pairs
    python benchmarks/fast_probe.py out.json CANDIDATE --split test                         # the test split (score it once)

For every pair of the split (reports/default-model/splits.json): the whole image with the shipped weights (`--weights`),
and the fast path (`llie.enhance.enhance_fast`: the image shrunk `s`x, enhanced, its local colour transforms applied at
full size) at each of `--scales`, once with the shipped weights and once with the candidate, each model with the
exposure gate its `.json` names. PSNR / SSIM (data range 1) as means with 95 % intervals, and the paired difference
fast - whole with its interval (the issue-23 bar: >= -0.3 dB at 2x). With `--robust` (default on) also the fast path's
pass-through and mixed-exposure tests (`llie.evaluate.robustness`) at the first scale, for both weights. The fast
path is meant for photos of several megapixels; LOL's 600x400 frames shrunk 2-3x are a stand-in where the whole image
is also available (experiments.md, session 16: on inputs upscaled 2x the gap was about half as large).

    python benchmarks/fast_probe.py out.json CANDIDATE --large 2,3,4                         # large stand-ins

With `--large U,...` each pair becomes a photo U times LOL's size instead, as the fast path meets it on a real
multi-megapixel photo, where the shrunk copy is about LOL's own pixel scale: the ground truth upscaled U x (Lanczos) is
the reference, and the input is a noisy capture of it at full size (`llie.synth.expose`: shot and read noise,
12-bit ADC, per pixel at full size) at the pair's own exposure (the mean linear brightness of its low image over its
high image's), seeded by pair and U. The whole image (`tile='auto'`) against the fast path shrunk U x, for both weights;
unless `--no-robust`, also the pass-through and mixed-exposure tests on the targets upscaled U x (the whole image and
the fast path with the whole-image weights).
CPU-heavy: run it alone on the machine.
"""
import argparse, json, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import numpy as np


def paired(a, b)->dict:
    "Mean of a - b with its 95 % half-width (`llie.evaluate.ci95`)."
    from llie.evaluate import ci95
    d = [x - y for x, y in zip(a, b)]
    return {'mean': float(np.mean(d)), 'ci95': ci95(d)}


def upscaled_target(p, u:int)->np.ndarray:
    "Pair `p`'s ground truth upscaled `u` x (Lanczos), uint8."
    from PIL import Image
    from llie.data import read_image
    hi8 = np.round(read_image(p.high) * 255).astype(np.uint8)
    return np.asarray(Image.fromarray(hi8).resize((hi8.shape[1] * u, hi8.shape[0] * u), Image.LANCZOS))


def large_standin(p, u:int, seed:int=27)->tuple:
    "(input, reference) for pair `p` as a photo `u` x LOL's size: see the module's docstring."
    from llie.data import read_image, srgb_to_linear
    from llie.synth import expose
    hi8 = np.round(read_image(p.high) * 255).astype(np.uint8)
    ref = upscaled_target(p, u).astype(np.float32) / 255
    k = float(np.clip(srgb_to_linear(read_image(p.low)).mean() / max(srgb_to_linear(hi8 / 255.).mean(), 1e-6), 1e-3, 1.))
    return expose(ref, k, np.random.default_rng([seed, u, int(''.join(c for c in p.low.stem if c.isdigit()) or 0)])).astype(np.float32) / 255, ref


def large_robust(pairs, u:int, fns:dict)->dict:
    "Pass-through and mixed-exposure tests (`llie.evaluate.robustness`) on the targets of `pairs` upscaled `u` x, for each of `fns`."
    import tempfile
    from PIL import Image
    from llie.data import Pair
    from llie.evaluate import robustness
    keys = ('passthrough_psnr_mean', 'passthrough_psnr_ci95', 'passthrough_clipped_in_mean', 'passthrough_clipped_out_mean',
            'mixed_psnr_mean', 'mixed_psnr_ci95', 'mixed_gain_over_baseline_mean', 'mixed_gain_over_baseline_ci95',
            'mixed_shadow_brightness_mean', 'mixed_lit_brightness_mean')
    with tempfile.TemporaryDirectory() as d:
        big = []
        for p in pairs:
            f = Path(d)/f'{p.name}.png'
            Image.fromarray(upscaled_target(p, u)).save(f)
            big.append(Pair(p.low, f, p.name, p.group))
        return {k: {q: v for q, v in robustness(fn, big, lpips=False)['summary'].items() if q in keys} for k, fn in fns.items()}


def main_large(a, pairs, models)->dict:
    from llie.enhance import enhance_array, enhance_fast
    from llie.metrics import psnr, ssim
    from llie.evaluate import ci95
    res = {'split': a.split, 'pairs': len(pairs), 'weights': a.weights, 'candidate': a.candidate, 'large': a.large}
    for u in [int(v) for v in a.large.split(',')]:
        rows = {k: {'psnr': [], 'ssim': []} for k in ['whole', *models]}
        for p in ([] if a.robust_only else pairs):
            x, ref = large_standin(p, u)
            outs = {'whole': enhance_array(x, models['shipped']), **{k: enhance_fast(x, m, scale=u) for k, m in models.items()}}
            for k, y in outs.items(): rows[k]['psnr'].append(float(psnr(y, ref))); rows[k]['ssim'].append(float(ssim(y, ref)))
        r = {}
        if not a.robust_only:
            r = {k: {f'{m}_mean': float(np.mean(v)) for m, v in q.items()} | {f'{m}_ci95': ci95(v) for m, v in q.items()} for k, q in rows.items()}
            for k in models: r[k]['psnr_minus_whole'] = paired(rows[k]['psnr'], rows['whole']['psnr'])
            r['candidate_minus_shipped'] = paired(rows['candidate']['psnr'], rows['shipped']['psnr'])
        if not a.no_robust: # the whole image and the fast path with the whole-image weights (the default path)
            r['robust'] = large_robust(pairs, u, {'whole': lambda im: enhance_array(im, models['shipped']),
                                                  'shipped': lambda im: enhance_fast(im, models['shipped'], scale=u)})
        res[f'x{u}'] = r
        print(f'x{u}', json.dumps(r, default=lambda o: round(o, 4)), flush=True)
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('out'); ap.add_argument('candidate', help="the fast path's weights (`.weights.h5` with its `.json`)")
    ap.add_argument('--weights', default='llie/weights/default.weights.h5', help='the shipped (whole-image) weights')
    ap.add_argument('--split', default='val', choices=['val', 'test'])
    ap.add_argument('--scales', default='2,3'); ap.add_argument('--n', type=int, default=None, help='first N pairs (default: all)')
    ap.add_argument('--no-robust', action='store_true')
    ap.add_argument('--large', default=None, help='U,...: large stand-ins U x LOL\'s size, shrunk U x (see above)')
    ap.add_argument('--robust-only', action='store_true', help='with --large: only the pass-through and mixed-exposure tests')
    a = ap.parse_args(argv)
    from llie.core import save_json
    from llie.data import load_splits, read_image
    from llie.enhance import get_model, enhance_array, enhance_fast
    from llie.metrics import psnr, ssim
    from llie.evaluate import ci95, robustness
    pairs = load_splits('reports/default-model/splits.json')[a.split][:a.n]
    scales = [int(s) for s in a.scales.split(',')]
    models = {'shipped': get_model(a.weights), 'candidate': get_model(a.candidate)}
    if a.large:
        t0 = time.time(); res = main_large(a, pairs, models); res['seconds'] = round(time.time() - t0, 1)
        save_json(res, a.out); return
    rows = {'whole': {'psnr': [], 'ssim': []}, **{f'{k}_x{s}': {'psnr': [], 'ssim': []} for k in models for s in scales}}
    t0 = time.time()
    for p in pairs:
        x, gt = read_image(p.low), read_image(p.high)
        outs = {'whole': enhance_array(x, models['shipped'], tile=None)}
        for k, m in models.items():
            for s in scales: outs[f'{k}_x{s}'] = enhance_fast(x, m, scale=s)
        for k, y in outs.items(): rows[k]['psnr'].append(float(psnr(y, gt))); rows[k]['ssim'].append(float(ssim(y, gt)))
    res = {'split': a.split, 'pairs': len(pairs), 'weights': a.weights, 'candidate': a.candidate, 'seconds': None}
    for k, r in rows.items():
        res[k] = {f'{m}_mean': float(np.mean(v)) for m, v in r.items()} | {f'{m}_ci95': ci95(v) for m, v in r.items()}
        if k != 'whole': res[k]['psnr_minus_whole'] = paired(r['psnr'], rows['whole']['psnr'])
    for s in scales: res[f'candidate_minus_shipped_x{s}'] = paired(rows[f'candidate_x{s}']['psnr'], rows[f'shipped_x{s}']['psnr'])
    if not a.no_robust:
        keys = ('passthrough_psnr_mean', 'passthrough_clipped_in_mean', 'passthrough_clipped_out_mean', 'mixed_psnr_mean',
                'mixed_gain_over_baseline_mean', 'mixed_shadow_brightness_mean', 'mixed_lit_brightness_mean')
        for k, m in models.items():
            r = robustness(lambda im: enhance_fast(im, m, scale=scales[0]), pairs, lpips=False)['summary']
            res[f'{k}_robust_x{scales[0]}'] = {q: r[q] for q in keys}
    res['seconds'] = round(time.time() - t0, 1)
    save_json(res, a.out)
    for k, v in res.items(): print(k, json.dumps(v, default=lambda o: round(o, 4)) if isinstance(v, dict) else v)


if __name__ == '__main__': main()
