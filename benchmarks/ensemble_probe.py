"""Issue 22 probe: the geometric self-ensemble at inference (experiments.md, session 28).

    python benchmarks/ensemble_probe.py OUT.json 1 2 4 8 [--split test] [--n N]

Arm N runs the shipped model (with its gate, whole image) on N flipped / transposed copies of the input, turns each
output back and averages them: 1 = the single pass; 2 = + the left-right flip; 4 = the four flips; 8 = the four flips of
the image and of its transpose. Scored on the split's pairs: PSNR / SSIM / LPIPS /
GT-mean PSNR with 95 % intervals, the paired PSNR difference to the single pass, pass-through and mixed exposure
(`llie.evaluate.robustness`). CPU-heavy: run it alone on the machine.
"""
import argparse, json, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import numpy as np


VIEWS = [lambda x: x, lambda x: x[:, ::-1], lambda x: x[::-1], lambda x: x[::-1, ::-1]]
VIEWS += [lambda x, v=v: v(x.transpose(1, 0, 2)) for v in VIEWS[:4]]
BACK = [lambda y: y, lambda y: y[:, ::-1], lambda y: y[::-1], lambda y: y[::-1, ::-1]]
BACK += [lambda y, b=b: b(y).transpose(1, 0, 2) for b in BACK[:4]]


def self_ensemble(run, x:np.ndarray, k:int)->np.ndarray:
    "Mean of `run` over the first `k` views of `x` (HxWx3), each output turned back to `x`'s layout."
    acc = np.zeros(x.shape, np.float64)
    for v, b in zip(VIEWS[:k], BACK[:k]): acc += b(run(np.ascontiguousarray(v(x))))
    return (acc / k).astype(np.float32)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('out'); ap.add_argument('arms', nargs='+', type=int, help='ensemble sizes: 1, 2, 4 or 8')
    ap.add_argument('--n', type=int, default=None); ap.add_argument('--split', default='val', choices=['val', 'test'])
    a = ap.parse_args(argv)
    from llie.core import save_json
    from llie.data import load_splits, load_pair
    from llie.enhance import get_model, enhance_array
    from llie.evaluate import ci95, robustness, evaluate_method, summarize
    pairs = load_splits('reports/default-model/splits.json')[a.split][:a.n]
    images = [load_pair(p) for p in pairs]
    m = get_model()
    res, base = {}, None
    for k in a.arms:
        t0 = time.time()
        fn = lambda im, k=k: self_ensemble(lambda v: enhance_array(v, m), im, k)
        rows = evaluate_method(fn, pairs, images=images)
        s = summarize(rows); ps = [r['psnr'] for r in rows]
        if base is None: base = ps
        d = [x - y for x, y in zip(ps, base)]
        r = robustness(fn, pairs, lpips=False)['summary']
        res[str(k)] = {**{q: s[q] for q in ('psnr_mean', 'psnr_ci95', 'ssim_mean', 'ssim_ci95', 'lpips_mean', 'lpips_ci95',
                                            'psnr_gtmean_mean', 'seconds_median')},
                       'psnr_diff_to_first_mean': float(np.mean(d)), 'psnr_diff_to_first_ci95': ci95(d),
                       **{q: r[q] for q in ('passthrough_psnr_mean', 'passthrough_clipped_in_mean', 'passthrough_clipped_out_mean',
                                            'mixed_psnr_mean', 'mixed_gain_over_baseline_mean', 'mixed_shadow_brightness_mean')},
                       'psnr': ps, 'seconds': round(time.time() - t0, 1)}
        print(k, json.dumps({q: v for q, v in res[str(k)].items() if q != 'psnr'}, default=lambda o: round(o, 4)), flush=True)
        save_json(res, a.out)


if __name__ == '__main__': main()
