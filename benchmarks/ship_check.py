"""Apply the ship rule of experiments.md (run 18's, fixed in session 15) to the output of `val_compare.py`.

    python benchmarks/val_compare.py val.json "new|reports/RUN/last.weights.h5|GATE" "old|llie/weights/default.weights.h5|[0.15, 0.95, 8]"
    python benchmarks/ship_check.py val.json new old

On the validation images, the new model ships only if (1) pass-through >= 30 dB and clipped pixels <= the input's + 1 %;
(2) mixed-exposure PSNR >= the old model's; (3) LOL PSNR >= old + 0.10 dB, SSIM >= old - 0.003, LPIPS <= old + 0.002.
Prints each condition with both numbers; exits 0 when all hold, 1 when any fails.
"""
import json, sys

def checks(new:dict, old:dict)->list:
    "(condition, value, bar, holds) for each part of the rule."
    clip_bar = new['passthrough_clipped_in_mean'] + 0.01
    rows = [('pass-through PSNR (dB) >= 30', new['passthrough_psnr_mean'], 30.0, new['passthrough_psnr_mean'] >= 30.0),
            ('pass-through clipped share <= input + 0.01', new['passthrough_clipped_out_mean'], clip_bar, new['passthrough_clipped_out_mean'] <= clip_bar),
            ('mixed-exposure PSNR (dB) >= old', new['mixed_psnr_mean'], old['mixed_psnr_mean'], new['mixed_psnr_mean'] >= old['mixed_psnr_mean']),
            ('LOL PSNR (dB) >= old + 0.10', new['psnr_mean'], old['psnr_mean'] + 0.10, new['psnr_mean'] >= old['psnr_mean'] + 0.10),
            ('LOL SSIM >= old - 0.003', new['ssim_mean'], old['ssim_mean'] - 0.003, new['ssim_mean'] >= old['ssim_mean'] - 0.003),
            ('LOL LPIPS <= old + 0.002', new['lpips_mean'], old['lpips_mean'] + 0.002, new['lpips_mean'] <= old['lpips_mean'] + 0.002)]
    return rows

if __name__ == '__main__':
    if len(sys.argv) != 4: sys.exit(__doc__)
    path, new, old = sys.argv[1:]
    try: res = json.load(open(path))
    except (OSError, json.JSONDecodeError) as e: sys.exit(f'{path}: cannot read the comparison ({e})')
    missing = [k for k in (new, old) if k not in res]
    if missing: sys.exit(f'{path}: no model named {missing} (has {sorted(k for k in res if k != "exposure_control")})')
    rows = checks(res[new], res[old])
    for name, v, bar, ok in rows: print(f"{'PASS' if ok else 'FAIL'}  {name:<45} {v:8.4f}  (bar {bar:.4f})")
    verdict = all(r[3] for r in rows)
    print('SHIP' if verdict else 'DO NOT SHIP'); sys.exit(0 if verdict else 1)
