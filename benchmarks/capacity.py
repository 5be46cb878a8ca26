"""How much bigger can the `fast` network get before it misses the 0.5 s per 600x400 image bar of issue #9?

Times `llie.enhance.enhance` (the path `llie enhance` uses) on one 600x400 image for the `fast` preset and
variants with more channels, blocks or groups, or local context (`local_grid`). Weights are random: the cost does not depend on their values.
Variants are timed in interleaved rounds, so that load drift hits them alike; medians are printed.

    .venv/bin/python benchmarks/capacity.py --rounds 6
    .venv/bin/python benchmarks/capacity.py --rounds 6 --variants fast,local_grid=4
"""
import argparse, sys, time
from pathlib import Path
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path: sys.path.insert(0, str(ROOT))

VARIANTS = {'fast': {}, 'n_feat=18': dict(n_feat=18), 'n_feat=20': dict(n_feat=20), 'n_feat=24': dict(n_feat=24),
            'n_msrb=3': dict(n_msrb=3), 'n_rrg=2': dict(n_rrg=2), 'local_grid=4': dict(local_grid=4)}

def main(rounds:int=6, # interleaved timing rounds per variant
         variants:str|None=None, # comma-separated names of `VARIANTS` (None: all); 'fast' is always timed
        ):
    import numpy as np
    from llie.model import build_mirnet
    from llie.enhance import enhance
    img = np.random.default_rng(0).random((400, 600, 3)).astype('float32')
    names = ['fast'] + [k for k in (variants.split(',') if variants else VARIANTS) if k != 'fast']
    bad = [k for k in names if k not in VARIANTS]
    if bad: sys.exit(f"unknown variants {bad}; choose from {', '.join(VARIANTS)}")
    models = {k: build_mirnet('fast', **VARIANTS[k]) for k in names}
    for m in models.values():
        for _ in range(2): enhance(img, weights=m)   # trace and warm up
    ts = {k: [] for k in models}
    for _ in range(rounds):
        for k, m in models.items():
            t = time.perf_counter(); enhance(img, weights=m); ts[k].append(time.perf_counter() - t)
    base = np.median(ts['fast'])
    print(f"{'variant':<10} {'params':>10} {'median s':>9} {'vs fast':>8}")
    for k, m in models.items():
        print(f'{k:<10} {m.count_params():>10,} {np.median(ts[k]):>9.3f} {np.median(ts[k]) / base:>7.2f}x')

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--rounds', type=int, default=6, help='interleaved timing rounds per variant')
    ap.add_argument('--variants', default=None, help='comma-separated variants to time beside fast (default: all)')
    a = ap.parse_args(); main(a.rounds, a.variants)
