"""Issue 22 probe: a per-image brightness calibration for uniformly dark frames (experiments.md, session 28).

    python benchmarks/calib_probe.py OUT.json [--split val|test] [--n N]

A ridge regression of log(target mean / output mean) on global statistics of the input and of the shipped model's
output (`features`), fitted on the training pairs (ridge strength by leave-one-scene-out on them); exp(prediction),
clipped to [0.8, 1.25], scales the output of frames without a lit part (`llie.enhance.shadow_gain` returns None).
Scored on the split's pairs beside the shipped model: PSNR (paired difference with its 95 % interval), SSIM, LPIPS,
pass-through and mixed exposure (`llie.evaluate.robustness`). CPU-heavy: run it alone on the machine.
"""
import argparse, json, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import numpy as np

CLIP = (np.log(0.8), np.log(1.25))
NAMES = ['x_mean', 'x_p50', 'x_p90', 'x_p99', 'x_rg', 'x_bg', 'x_noise', 'y_mean', 'y_p10', 'y_p50', 'y_p90', 'y_sat']


def features(x:np.ndarray, y:np.ndarray)->np.ndarray:
    "Global statistics of input `x` (in linear light) and output `y` (sRGB), logs where they are levels."
    from scipy.ndimage import uniform_filter
    from llie.data import srgb_to_linear
    xl = srgb_to_linear(x); lx = xl @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    m = xl.reshape(-1, 3).mean(0) + 1e-5
    gx = x.mean(-1); noise = np.median(np.abs(gx - uniform_filter(gx, 3))) / (gx.mean() + 1e-3)
    ly = y.mean(-1)
    L = lambda v: float(np.log(v + 1e-5))
    return np.array([L(lx.mean()), *[L(np.quantile(lx, q)) for q in (0.5, 0.9, 0.99)], L(m[0] / m[1]), L(m[2] / m[1]), L(noise),
                     L(ly.mean()), *[L(np.quantile(ly, q)) for q in (0.1, 0.5, 0.9)], float((y.max(-1) - y.min(-1)).mean())])


def fit_ridge(F, t, groups, alphas=(0.01, 0.1, 1, 10, 100, 1000)):
    "Standardised ridge; strength by leave-one-group-out mean squared error; returns (predict, alpha, cv errors)."
    mu, sd = F.mean(0), F.std(0) + 1e-8
    Z = (F - mu) / sd
    def solve(Z, t, a):
        tm = t.mean(); A = Z.T @ Z + a * np.eye(Z.shape[1]); return np.linalg.solve(A, Z.T @ (t - tm)), tm
    cv = {}
    for a in alphas:
        err = []
        for g in sorted(set(groups)):
            tr = np.array([h != g for h in groups]); w, tm = solve(Z[tr], t[tr], a)
            err += list((Z[~tr] @ w + tm - t[~tr]) ** 2)
        cv[a] = float(np.mean(err))
    best = min(cv, key=cv.get); w, tm = solve(Z, t, best)
    return (lambda f: float(((np.asarray(f) - mu) / sd) @ w + tm)), best, cv


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('out'); ap.add_argument('--n', type=int, default=None); ap.add_argument('--split', default='val', choices=['val', 'test'])
    a = ap.parse_args(argv)
    from llie.core import save_json
    from llie.data import load_splits, read_image
    from llie.enhance import get_model, enhance_array, shadow_gain
    from llie.metrics import psnr, ssim, lpips_distance
    from llie.evaluate import ci95, robustness
    sp = load_splits('reports/default-model/splits.json')
    m = get_model(); t0 = time.time()
    F, T, G = [], [], []
    for p in sp['train']:
        x, gt = read_image(p.low), read_image(p.high); y = enhance_array(x, m)
        F.append(features(x, y)); T.append(np.log(gt.mean() / y.mean())); G.append(p.group)
    F, T = np.array(F), np.array(T)
    pred, alpha, cv = fit_ridge(F, T, G)
    res = {'train': {'n': len(T), 'features': NAMES, 'log_ratio_std': float(T.std()), 'log_ratio_mean': float(T.mean()), 'alpha': alpha, 'cv_mse': cv,
                     'cv_mse_constant': float(np.mean((T - T.mean()) ** 2)), 'seconds': round(time.time() - t0, 1)}}
    print('train', json.dumps(res['train']), flush=True)
    pairs = sp[a.split][:a.n]
    rows, Tv = [], []
    def calibrated(x, y):
        if shadow_gain(x) is not None: return y, 0.
        k = float(np.clip(pred(features(x, y)), *CLIP)); return np.clip(y * np.exp(k), 0, 1).astype(np.float32), k
    for p in pairs:
        x, gt = read_image(p.low), read_image(p.high); y = enhance_array(x, m); yc, k = calibrated(x, y)
        Tv.append(float(np.log(gt.mean() / y.mean())))
        rows.append(dict(name=p.name, k=k, psnr0=psnr(gt, y), psnr1=psnr(gt, yc), ssim0=ssim(gt, y), ssim1=ssim(gt, yc),
                         lpips0=float(lpips_distance(gt, y)), lpips1=float(lpips_distance(gt, yc))))
    col = lambda k: [r[k] for r in rows]
    d = [r['psnr1'] - r['psnr0'] for r in rows]; ks = col('k')
    summ = {'n': len(rows), 'log_ratio_std': float(np.std(Tv)), 'pred_corr': float(np.corrcoef(ks, Tv)[0, 1]),
            **{f'{k}_mean': float(np.mean(col(k))) for k in ('psnr0', 'psnr1', 'ssim0', 'ssim1', 'lpips0', 'lpips1')},
            'psnr_gain_mean': float(np.mean(d)), 'psnr_gain_ci95': ci95(d)}
    print(a.split, json.dumps(summ), flush=True)
    r = robustness(lambda x: calibrated(x, enhance_array(x, m))[0], pairs, lpips=False)['summary']
    summ.update({q: r[q] for q in ('passthrough_psnr_mean', 'passthrough_clipped_in_mean', 'passthrough_clipped_out_mean',
                                   'mixed_psnr_mean', 'mixed_gain_over_baseline_mean')})
    res[a.split] = {**summ, 'rows': rows}
    print(a.split, json.dumps({k: v for k, v in summ.items()}), flush=True)
    save_json(res, a.out)


if __name__ == '__main__': main()
