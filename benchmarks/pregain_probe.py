"""Issue 22 probe: a fixed illumination pre-gain before the network, on the validation split (experiments.md, session 27).

    python benchmarks/pregain_probe.py OUT.json 0.5,0.05,8 0.75,0.05,16 ...   # first probe: arms alpha,sigma,gmax (lost)
    python benchmarks/pregain_probe.py OUT.json 4,0.75,0.1,16 [--split test]  # second: t,alpha,lmin,gmax (`llie.enhance.lift_shadows`)
    python benchmarks/pregain_probe.py OUT.json keep=0.5,1 lift+keep=0.5,1     # third (session 28): keep the lit part
    python benchmarks/pregain_probe.py OUT.json route route+lift --specialist W # fourth (session 28): a second network
    python benchmarks/pregain_probe.py OUT.json route2 --specialist W           # fifth (session 29): routed by mean too

Third probe (`keep=a,b`, `lift+keep=a,b`): where the frame has a lit part (illumination L's 90th percentile `ref`
>= 0.1 linear), the output is blended back to the input with weight smoothstep((L / ref - a) / (b - a)); `lift+keep`
also lifts the shadows first (`lift_shadows` with its defaults).

Fourth probe (`route`, `route+lift`): frames with a lit part (`shadow_gain` is not None) go to the network in
`--specialist` (a `.weights.h5` with its `.json`, e.g. from `illum_probe.py --save`), every other frame to the shipped
one; `route+lift` also lifts the shadows first. Fifth (`route2`): only frames with a lit part whose mean (sRGB) is at
least `--route-mean` go to the specialist, always behind the lift; every other frame to the shipped network as it is.

Second probe (four numbers an arm): only regions more than t times darker than the lit level, and only where the lit
level is at least lmin in linear light, are lifted: the arm 4,0.75,0.1,16 became `llie enhance --shadows`.

The input in linear light; its illumination L = max over RGB blurred by a Gaussian of sigma x the image diagonal;
L_ref = L's 90th percentile; gain g = clip((L_ref / L) ** alpha, 1, gmax); the shipped model (with its gate) run on
x * g, back in sRGB. Scored on the 62 validation pairs: LOL PSNR / SSIM, pass-through and mixed exposure
(`llie.evaluate.robustness`), beside the shipped model without pre-gain. CPU-heavy: run it alone on the machine.
"""
import argparse, json, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import numpy as np


def pregain2(x:np.ndarray, t:float, alpha:float, lmin:float, gmax:float)->np.ndarray:
    "The second probe's arm: `llie.enhance.lift_shadows` with the illumination computed at full resolution."
    from llie.enhance import lift_shadows
    return lift_shadows(x, t=t, alpha=alpha, lmin=lmin, gmax=gmax, side=max(x.shape[:2]))


def keep_lit(x:np.ndarray, y:np.ndarray, a:float, b:float, lmin:float=0.1)->np.ndarray:
    "The third probe's arm: output `y` blended back to input `x` where the illumination is near the frame's lit level."
    from llie.enhance import illumination
    L, ref, _ = illumination(x, side=max(x.shape[:2])) # at full resolution
    if ref < lmin: return y
    t = np.clip((L / ref - a) / (b - a), 0, 1); p = (t * t * (3 - 2 * t))[..., None]
    return (p * x + (1 - p) * y).astype(np.float32)


def pregain(x:np.ndarray, alpha:float, sigma:float, gmax:float)->np.ndarray:
    "The input with regions darker than its lit level lifted (see the module's docstring)."
    from scipy.ndimage import gaussian_filter
    from llie.data import srgb_to_linear, linear_to_srgb
    xl = srgb_to_linear(x)
    s = sigma * float(np.hypot(*x.shape[:2]))
    L = gaussian_filter(xl.max(-1), s, mode='reflect') + 1e-4
    g = np.clip((np.quantile(L, 0.9) / L) ** alpha, 1, gmax)
    return np.clip(linear_to_srgb(np.clip(xl * g[..., None], 0, 1)), 0, 1).astype(np.float32)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('out'); ap.add_argument('arms', nargs='+', help='alpha,sigma,gmax (first probe) or t,alpha,lmin,gmax (second)')
    ap.add_argument('--n', type=int, default=None); ap.add_argument('--split', default='val', choices=['val', 'test'])
    ap.add_argument('--specialist', default=None, help='weights of the second network for the route arms')
    ap.add_argument('--route-mean', type=float, default=0.25, help="route2: a frame with a lit part goes to the specialist (behind the lift) only if its mean (sRGB) is at least this")
    a = ap.parse_args(argv)
    from llie.core import save_json
    from llie.data import load_splits, read_image
    from llie.enhance import get_model, enhance_array, lift_shadows, shadow_gain
    from llie.metrics import psnr, ssim
    from llie.evaluate import ci95, robustness
    pairs = load_splits('reports/default-model/splits.json')[a.split][:a.n]
    m = get_model()
    sp = get_model(a.specialist) if a.specialist else None
    if sp is None and any(k.startswith('route') for k in a.arms): raise SystemExit('route arms need --specialist')
    route = lambda im: sp if shadow_gain(im) is not None else m
    lit_frame = lambda im: shadow_gain(im) is not None and float(np.mean(im)) >= a.route_mean # route2's router (session 29)
    arms = {'none': None, **{k: () if k.startswith('route') else tuple(float(v) for v in k.split('=')[-1].split(',')) for k in a.arms}}
    res = {}
    for k, prm in arms.items():
        t0 = time.time()
        if prm is None: fn = lambda im: enhance_array(im, m)
        elif k == 'route': fn = lambda im: enhance_array(im, route(im))
        elif k == 'route+lift': fn = lambda im: enhance_array(lift_shadows(im), route(im))
        elif k == 'route2': fn = lambda im: enhance_array(lift_shadows(im), sp) if lit_frame(im) else enhance_array(im, m)
        elif k.startswith('keep='): fn = lambda im, prm=prm: keep_lit(im, enhance_array(im, m), *prm)
        elif k.startswith('lift+keep='): fn = lambda im, prm=prm: keep_lit(im, enhance_array(lift_shadows(im), m), *prm)
        else: fn = lambda im, prm=prm: enhance_array((pregain2 if len(prm) == 4 else pregain)(im, *prm), m)
        ps, ss = [], []
        for p in pairs:
            x, gt = read_image(p.low), read_image(p.high); y = fn(x)
            ps.append(float(psnr(y, gt))); ss.append(float(ssim(y, gt)))
        r = robustness(fn, pairs, lpips=False)['summary']
        res[k] = {'lol_psnr_mean': float(np.mean(ps)), 'lol_psnr_ci95': ci95(ps), 'lol_ssim_mean': float(np.mean(ss)), 'lol_psnr': ps,
                  **{q: r[q] for q in ('passthrough_psnr_mean', 'passthrough_clipped_in_mean', 'passthrough_clipped_out_mean', 'mixed_psnr_mean',
                                       'mixed_gain_over_baseline_mean', 'mixed_shadow_brightness_mean', 'mixed_lit_brightness_mean')},
                  'seconds': round(time.time() - t0, 1)}
        print(k, json.dumps({q: v for q, v in res[k].items() if q != 'lol_psnr'}, default=lambda o: round(o, 4)), flush=True)
        save_json(res, a.out)


if __name__ == '__main__': main()
