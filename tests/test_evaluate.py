"Fast checks of llie.evaluate and llie.baselines without a model or LPIPS (the notebooks test those)."
import csv, json
from pathlib import Path
import numpy as np
import pytest
from llie.core import LLIEError
from llie.data import Pair, write_image
from llie.baselines import BASELINES, identity, gamma_correction, lime
from llie.evaluate import (COLUMNS, evaluate_all, evaluate_method, metrics_table, summarize, verdict,
                           write_metrics, TABLE_HEADER)


@pytest.fixture
def pairs(tmp_path):
    rng = np.random.default_rng(1)
    (tmp_path/'low').mkdir(); (tmp_path/'high').mkdir()
    out = []
    for i, (h, w) in enumerate([(24, 32), (32, 24), (24, 32)]):
        yy, xx = np.mgrid[0:h, 0:w]
        hi = np.stack([xx / w, yy / h, 0.5 + 0.3 * np.sin(xx / 3.)], -1) * 0.8 + 0.1 * rng.random((h, w, 3))
        write_image(tmp_path/'low'/f'{i}.png', hi * 0.1); write_image(tmp_path/'high'/f'{i}.png', hi)
        out.append(Pair(tmp_path/'low'/f'{i}.png', tmp_path/'high'/f'{i}.png', str(i), str(i)))
    return out


def test_baselines_only_run(pairs, tmp_path):
    res = evaluate_all(None, pairs, methods={'input': identity, 'gamma': gamma_correction, 'lime': lime},
                       lpips=False, verbose=False)
    assert list(res) == ['input', 'gamma', 'lime']
    assert res['gamma']['summary']['psnr_mean'] > res['input']['summary']['psnr_mean']
    with pytest.raises(LLIEError, match='mirnet'): verdict(res)      # no model: no verdict
    paths = write_metrics(res, tmp_path/'run')
    rows = list(csv.DictReader(open(paths['per_image'])))
    assert len(rows) == 3 * 3 and list(rows[0]) == ['method', *COLUMNS]
    assert {(r['H'], r['W']) for r in rows} == {('24', '32'), ('32', '24')}
    mj = json.loads(paths['metrics'].read_text())
    assert mj['image_sizes'] == {'32x24': 2, '24x32': 1} and mj['verdict'] is None
    assert mj['n_images'] == 3


def test_write_is_atomic(pairs, tmp_path):
    res = {'gamma': {'rows': (r := evaluate_method(gamma_correction, pairs, lpips=False)), 'summary': summarize(r)}}
    run = tmp_path/'run'
    write_metrics(res, run)
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    with pytest.raises(TypeError): write_metrics(res, run, extra={'bad': object()})   # not JSON serialisable
    assert {p.name: p.read_bytes() for p in run.iterdir()}['metrics.json'] == before['metrics.json']
    assert sorted(p.name for p in run.iterdir()) == ['metrics.json', 'per_image.csv']   # no temporary files left


def test_summary_and_table_edge_cases():
    rows = [dict(name='a', group='a', H=2, W=2, psnr=10., ssim=.5, lpips=None, psnr_gtmean=12., ssim_gtmean=.6, seconds=.1),
            dict(name='b', group='b', H=2, W=2, psnr=20., ssim=.7, lpips=None, psnr_gtmean=22., ssim_gtmean=.8, seconds=.3)]
    s = summarize(rows)
    assert s['psnr_mean'] == 15. and s['psnr_std'] == 5. and s['lpips_mean'] is None
    assert s['seconds_median'] == pytest.approx(.2) and s['seconds_p10'] == pytest.approx(.12) and s['seconds_p90'] == pytest.approx(.28)
    res = {'gamma': {'rows': rows, 'summary': s}, 'mirnet': {'rows': rows, 'summary': {**s, 'psnr_mean': 16.}}}
    t = metrics_table(res)
    assert t.splitlines()[0] == '| ' + ' | '.join(TABLE_HEADER) + ' |'
    h = s['psnr_ci95']; assert h == pytest.approx(12.7062 * np.std([10, 20], ddof=1) / np.sqrt(2), rel=1e-4)  # t(0.975, 1)
    assert f'| gamma | 15.00 ± {h:.2f} | 0.600 ± {s["ssim_ci95"]:.3f} | n/a | 0.200 | 17.00 | 0.700 |' in t
    assert verdict(res).startswith('MIRNet beats the best baseline, gamma, by 1.00 dB PSNR (16.00 vs 15.00 dB).')
    res['mirnet']['summary']['psnr_mean'] = 14.
    assert verdict(res) == 'FAILED RUN: MIRNet does not beat global gamma correction on PSNR (14.00 vs 15.00 dB).'


@pytest.mark.parametrize('name', list(BASELINES))
def test_baselines_contract(name):
    f = BASELINES[name]
    for img in [np.zeros((5, 7, 3), 'float32'), np.ones((5, 7, 3), 'float32'), np.random.default_rng(0).random((9, 4, 3))]:
        out = f(img)
        assert out.shape == img.shape and out.dtype == np.float32 and np.isfinite(out).all()
        assert out.min() >= 0 and out.max() <= 1
    with pytest.raises(LLIEError): f(np.zeros((4, 4)))


def test_shipped_weights_scored_once(tmp_path):
    "The evaluate stage with `compare_default` on the shipped weights themselves (`make model` re-scoring the shipped run) gives no duplicate 'shipped' row."
    import subprocess, sys, shutil
    root = Path(__file__).resolve().parents[1]
    twin = tmp_path/'twin.weights.h5'
    shutil.copy(root/'llie/weights/default.weights.h5', twin); shutil.copy(root/'llie/weights/default.json', tmp_path/'twin.json')
    r = subprocess.run([sys.executable, '-m', 'llie.pipeline', '--profile', 'smoke', '--stages', '06_evaluate', '--reports', str(tmp_path),
                        '--run-name', 'run', f'weights={twin}', 'compare_default=true', 'robust=false', 'lpips=false',
                        'max_test_images=1', 'shadows=true'], capture_output=True, text=True, cwd=root, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    mj = json.loads((tmp_path/'run'/'metrics.json').read_text())
    assert 'shipped' not in mj['summaries'] and {'mirnet', 'mirnet --shadows', 'gamma'} <= set(mj['summaries']), list(mj['summaries'])
    assert mj['parameters']['compare_default'] is False and mj['parameters']['shadows'] is True
    assert 'shipped model itself' in (tmp_path/'run'/'06_evaluate.ipynb').read_text()
