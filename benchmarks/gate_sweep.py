"""Choose the exposure gate of a trained network on the validation split (the rule of experiments.md, session 14).

The network's outputs on every validation low input, mixed-exposure input and well-lit target are computed once;
each [low, high, 8] setting is then applied with `llie.model.ExposureGate` and scored: LOL PSNR, mixed-exposure gain
over global gamma, pass-through PSNR, clipped share. Among settings with pass-through >= 31 dB and clipping within
0.5 % of the input's, the one with the highest LOL PSNR + mixed gain is printed as CHOSEN.

    python benchmarks/gate_sweep.py reports/RUN/last.weights.h5 [reports/default-model/splits.json]
"""
import json, sys, numpy as np
from llie.data import read_image
from llie.synth import mixed_exposure_input, clipped_share
from llie.metrics import psnr
from llie.baselines import gamma_correction
from llie.model import build_mirnet, ExposureGate
from llie.enhance import enhance_array
w = sys.argv[1]; split = sys.argv[2] if len(sys.argv) > 2 else 'reports/default-model/splits.json'
arch = dict(json.load(open(w.replace('.weights.h5', '.json')))['architecture']); arch.pop('gate', None)
net = build_mirnet(**arch); net.load_weights(w)
sp = json.load(open(split))['splits']['val']
cache = []
for i, p in enumerate(sp):
    hi = read_image(p['high']); lo = read_image(p['low']); mx = mixed_exposure_input(hi, i)
    cache.append([(x, enhance_array(x, net)) for x in (lo, mx, hi)] + [hi, psnr(hi, gamma_correction(mx))])
def score(low, high):
    g = ExposureGate(low, high, 8); r = {'lol': [], 'mixed': [], 'pass': [], 'clip_out': [], 'clip_in': []}
    for (lo, olo), (mx, omx), (hi, ohi), gt, gb in cache:
        outs = []
        for x, o in ((lo, olo), (mx, omx), (hi, ohi)):
            wt = np.asarray(g.weight(x[None]))[0]; outs.append(np.clip(wt * x + (1 - wt) * o, 0, 1))
        r['lol'].append(psnr(gt, outs[0])); r['mixed'].append(psnr(gt, outs[1]) - gb); r['pass'].append(psnr(hi, outs[2]))
        r['clip_out'].append(clipped_share(outs[2])); r['clip_in'].append(clipped_share(hi))
    return {k: float(np.mean(v)) for k, v in r.items()}
print('n', len(cache), 'gamma mixed', np.mean([c[4] for c in cache]))
res = []
for low in (0.15, 0.2, 0.3, 0.4, 0.5):
    for high in (0.65, 0.75, 0.85, 0.95):
        if high <= low + 0.1: continue
        s = score(low, high); res.append(((low, high), s))
        print((low, high), ' '.join(f'{k} {v:.3f}' for k, v in s.items()), flush=True)
ok = [(k, s) for k, s in res if s['pass'] >= 31 and s['clip_out'] <= s['clip_in'] + 0.005]
best = max(ok, key=lambda t: t[1]['lol'] + t[1]['mixed'])
print('CHOSEN', best)
