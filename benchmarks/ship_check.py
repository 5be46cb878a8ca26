"""Apply a ship rule of experiments.md to the output of `val_compare.py`.

    python benchmarks/val_compare.py val.json "new|reports/RUN/last.weights.h5|GATE" "old|llie/weights/default.weights.h5|[0.15, 0.95, 8]"
    python benchmarks/ship_check.py val.json new old [--mixed-margin DB] [--psnr-margin DB]

On the validation images, the new model ships only if (1) pass-through >= 30 dB and clipped pixels <= the input's + 1 %;
(2) mixed-exposure PSNR >= the old model's + the mixed margin; (3) LOL PSNR >= old + the PSNR margin, SSIM >= old - 0.003,
LPIPS <= old + 0.002. The default margins (0 and +0.10 dB) are run 18's rule (fixed in session 15); run 19's rule
(session 21) is `--mixed-margin 0.5 --psnr-margin -0.05`. Prints each condition with both numbers; exits 0 when all
hold, 1 when any fails.
"""
import argparse, json, sys

def checks(new:dict, old:dict, mixed_margin:float=0.0, psnr_margin:float=0.10)->list:
    "(condition, value, bar, holds) for each part of the rule."
    mb, pb = old['mixed_psnr_mean'] + mixed_margin, old['psnr_mean'] + psnr_margin
    clip_bar = new['passthrough_clipped_in_mean'] + 0.01
    rows = [('pass-through PSNR (dB) >= 30', new['passthrough_psnr_mean'], 30.0, new['passthrough_psnr_mean'] >= 30.0),
            ('pass-through clipped share <= input + 0.01', new['passthrough_clipped_out_mean'], clip_bar, new['passthrough_clipped_out_mean'] <= clip_bar),
            (f'mixed-exposure PSNR (dB) >= old {mixed_margin:+.2f}', new['mixed_psnr_mean'], mb, new['mixed_psnr_mean'] >= mb),
            (f'LOL PSNR (dB) >= old {psnr_margin:+.2f}', new['psnr_mean'], pb, new['psnr_mean'] >= pb),
            ('LOL SSIM >= old - 0.003', new['ssim_mean'], old['ssim_mean'] - 0.003, new['ssim_mean'] >= old['ssim_mean'] - 0.003),
            ('LOL LPIPS <= old + 0.002', new['lpips_mean'], old['lpips_mean'] + 0.002, new['lpips_mean'] <= old['lpips_mean'] + 0.002)]
    return rows

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('path'); ap.add_argument('new'); ap.add_argument('old')
    ap.add_argument('--mixed-margin', type=float, default=0.0, help='mixed-exposure PSNR must reach old + this (dB)')
    ap.add_argument('--psnr-margin', type=float, default=0.10, help='LOL PSNR must reach old + this (dB)')
    a = ap.parse_args(); path, new, old = a.path, a.new, a.old
    try: res = json.load(open(path))
    except (OSError, json.JSONDecodeError) as e: sys.exit(f'{path}: cannot read the comparison ({e})')
    missing = [k for k in (new, old) if k not in res]
    if missing: sys.exit(f'{path}: no model named {missing} (has {sorted(k for k in res if k != "exposure_control")})')
    rows = checks(res[new], res[old], a.mixed_margin, a.psnr_margin)
    for name, v, bar, ok in rows: print(f"{'PASS' if ok else 'FAIL'}  {name:<45} {v:8.4f}  (bar {bar:.4f})")
    verdict = all(r[3] for r in rows)
    print('SHIP' if verdict else 'DO NOT SHIP'); sys.exit(0 if verdict else 1)
