"""Short fine-tunes of one model with the loss changed, judged on the validation split: a probe before a full run.

    python benchmarks/loss_probe.py out.json "control|" "cells32|color_cell=32" "cells32x3|color_weight=3,color_cell=32"

Every arm starts from the same weights (`--weights`, default the shipped model) and trains `--steps` steps on the
same batches: the default profile's training stream (configs/default.yaml: real pairs and synthetic exposures,
seed 0) in `--crop`-pixel crops of `--batch`, read from step `--start-step` (a part of the stream the model has
seen, as in any epoch). The loss is the profile's (Charbonnier + 3 (1 - SSIM) + 6 LPIPS + 1 colour) with the arm's
`key=value` changes (ssim_weight, lpips_weight, color_weight, color_cell); Adam at `--lr` with the profile's gradient
clipping, no EMA. Then, with the model's exposure gate, on the validation pairs of reports/default-model/splits.json:
LOL PSNR / SSIM (and LPIPS with --lpips), pass-through PSNR, mixed-exposure PSNR, its gain over global gamma and the
output's brightness over the target's in the shadow and the lit third (`llie.evaluate.robustness`). The start
weights are scored too (arm `start`). A few hundred steps show which way a loss pulls the network, not what a
full run would reach (experiments.md, session 16). CPU-heavy: run it alone on the machine.
"""
import argparse, json, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import numpy as np

LOSS_KEYS = {'ssim_weight': float, 'lpips_weight': float, 'color_weight': float, 'color_cell': int}

def parse_arm(s:str)->tuple:
    "'name|k=v,k=v' -> (name, {k: v}); only the loss's keys."
    name, _, rest = s.partition('|')
    kw = {}
    for item in filter(None, rest.split(',')):
        k, _, v = item.partition('=')
        if k not in LOSS_KEYS: raise SystemExit(f'arm {name!r}: {k!r} is not one of {", ".join(LOSS_KEYS)}')
        kw[k] = LOSS_KEYS[k](v)
    return name, kw

def score_model(m, val:list, lpips:bool=False)->dict:
    "LOL PSNR / SSIM (and LPIPS) of model `m` on the pairs `val`, and its pass-through and mixed-exposure tests on their targets."
    from llie.model import predict_image
    from llie.evaluate import evaluate_model, summarize, robustness
    s = summarize(evaluate_model(m, val, lpips=lpips))
    r = robustness(lambda x: predict_image(m, x), val, lpips=False)['summary']
    out = {k: s[k] for k in ('psnr_mean', 'psnr_ci95', 'ssim_mean', 'lpips_mean') if s.get(k) is not None}
    out.update({k: r[k] for k in ('passthrough_psnr_mean', 'mixed_psnr_mean', 'mixed_gain_over_baseline_mean',
                                  'mixed_gain_over_baseline_ci95', 'mixed_shadow_brightness_mean', 'mixed_lit_brightness_mean')})
    return out

def profile_stream(store, cfg:dict, steps:int, crop:int, batch:int, start_step:int):
    "`steps` batches of `batch` x `crop`-pixel crops of the profile `cfg`'s training stream from `start_step`."
    from llie.synth import train_stream_dataset
    return train_stream_dataset(store, cfg['steps_per_epoch'], steps=steps, batch_shape=(batch, crop, crop), seed=cfg['seed'],
                                crop_schedule=[[1, crop, batch]], synth_fraction=cfg['synth_fraction'],
                                passthrough_fraction=cfg['passthrough_fraction'], jpeg_fraction=cfg['jpeg_fraction'],
                                spatial_fraction=cfg['spatial_fraction'], start_step=start_step)

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('out'); ap.add_argument('arms', nargs='+', help="'name|key=value,...' (the loss's changes)")
    ap.add_argument('--weights', default='llie/weights/default.weights.h5')
    ap.add_argument('--steps', type=int, default=200); ap.add_argument('--lr', type=float, default=5e-5)
    ap.add_argument('--crop', type=int, default=400); ap.add_argument('--batch', type=int, default=2)
    ap.add_argument('--start-step', type=int, default=4000)
    ap.add_argument('--val', type=int, default=None, help='first N validation pairs (default: all)')
    ap.add_argument('--lpips', action='store_true', help='also LPIPS on the LOL validation pairs')
    a = ap.parse_args(argv)
    arms = [parse_arm(s) for s in a.arms]
    import keras
    from llie.core import load_yaml, save_json
    from llie.data import load_splits
    from llie.model import build_mirnet
    from llie.loss import CharbonnierLoss
    from llie.synth import PairStore
    cfg = load_yaml('configs/default.yaml')
    splits = load_splits('reports/default-model/splits.json')
    val = splits['val'][:a.val] if a.val else splits['val']
    arch = dict(json.loads(Path(a.weights.replace('.weights.h5', '.json')).read_text())['architecture'])
    store = PairStore(splits['train'])
    def score(m):
        gated = build_mirnet(**arch); gated.set_weights(m.get_weights())
        return score_model(gated, val, lpips=a.lpips)
    results = {}
    def report(name, res):
        results[name] = res; save_json(results, a.out)
        print(name, json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in res.items()}), flush=True)
    start = build_mirnet(**{**arch, 'gate': None}); start.load_weights(a.weights)
    report('start', {'weights': a.weights, **score(start)})
    base = dict(eps=cfg['charbonnier_eps'], ssim_weight=cfg['ssim_weight'], lpips_weight=cfg['lpips_weight'], color_weight=cfg['color_weight'])
    for name, kw in arms:
        keras.utils.set_random_seed(0)
        m = build_mirnet(**{**arch, 'gate': None}); m.load_weights(a.weights)
        m.compile(optimizer=keras.optimizers.Adam(a.lr, global_clipnorm=cfg['clipnorm']), loss=CharbonnierLoss(**{**base, **kw}))
        ds = profile_stream(store, cfg, a.steps, a.crop, a.batch, a.start_step)
        t0 = time.time(); h = m.fit(ds, epochs=1, steps_per_epoch=a.steps, verbose=0).history
        report(name, {'loss': {**base, **kw}, 'steps': a.steps, 'lr': a.lr, 'train_seconds': round(time.time() - t0, 1),
                      'final_loss': float(h['loss'][-1]), **score(m)})

if __name__ == '__main__': main()
