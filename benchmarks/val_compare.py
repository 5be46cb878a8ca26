"""The ship rule's numbers on the validation split: models as NAME|WEIGHTS|GATE, e.g.

    python benchmarks/val_compare.py out.json "new|reports/RUN/last.weights.h5|[0.15, 0.95, 8]" "old|llie/weights/default.weights.h5|[0.15, 0.65, 8]"

For each: PSNR / SSIM / LPIPS with 95 % intervals on the validation pairs of reports/default-model/splits.json, the
pass-through and mixed-exposure tests (`llie.evaluate.robustness`); for the first, the brightness control error at
T = 0.25 / 0.4 / 0.55 / 0.7. Written to out.json; the rule itself is applied by hand as experiments.md states it.
"""
import json, sys, numpy as np
from llie.data import load_splits, read_image
from llie.model import build_mirnet, predict_image
from llie.evaluate import evaluate_model, summarize, robustness
from llie.enhance import enhance
from llie.core import save_json
def load(w, gate):
    arch = dict(json.load(open(w.replace('.weights.h5', '.json')))['architecture']); arch['gate'] = gate
    m = build_mirnet(**arch); m.load_weights(w); return m
val = load_splits('reports/default-model/splits.json')['val']
out, first = {}, None
for name, w, gate in [a.split('|') for a in sys.argv[2:]]:
    gate = json.loads(gate); m = load(w, gate); first = m if first is None else first
    s = summarize(evaluate_model(m, val))
    r = robustness(lambda x: predict_image(m, x), val)['summary']
    out[name] = {'weights': w, 'gate': gate, **{k: s[k] for k in ('psnr_mean', 'psnr_ci95', 'ssim_mean', 'ssim_ci95', 'lpips_mean', 'lpips_ci95')}, **r}
    print(name, json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in out[name].items()}), flush=True)
ec = {}
for T in (0.25, 0.4, 0.55, 0.7):
    d = [abs(float(enhance(read_image(p.low), weights=first, exposure=T).mean()) - T) for p in val]
    ec[str(T)] = {'max': max(d), 'mean': float(np.mean(d))}
out['exposure_control'] = ec; print('exposure control', ec)
save_json(out, sys.argv[1])
