"""`benchmarks/train_backend.py` (the trainer for machines without TensorFlow), run here on the TensorFlow backend."""
import csv, json, sys
from pathlib import Path
import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'benchmarks'))
import train_backend as tb


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    "Six random 48x64 pairs (4 train, 2 val) in the script's layout."
    d = tmp_path_factory.mktemp('pairs'); rng = np.random.default_rng(0)
    for sub in ('low', 'high'): (d/sub).mkdir()
    for i in range(6):
        hi = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
        Image.fromarray(hi).save(d/'high'/f'{i}.png'); Image.fromarray(hi // 8).save(d/'low'/f'{i}.png')
    (d/'pairs.json').write_text(json.dumps({'train': ['0', '1', '2', '3'], 'val': ['4', '5']}))
    return d


def test_batches_are_paired_crops(data):
    lo, hi = tb.load_pairs(data, ['0', '1', '2', '3'])
    x, y = next(tb.batches(lo, hi, batch=5, crop=16, rng=np.random.default_rng(1)))
    assert x.shape == y.shape == (5, 16, 16, 3) and x.dtype == np.float32
    # the low images are high // 8, so every crop pair must keep that relation (same window, flip and rotation)
    np.testing.assert_array_equal(np.round(x * 255), np.round(y * 255) // 8)


def test_missing_image_names_the_file(data, tmp_path):
    with pytest.raises(SystemExit, match='low/9'): tb.load_pairs(data, ['9'])


def test_train_writes_history_and_float16_weights_that_load(data, tmp_path):
    out = tmp_path/'run'
    tb.main(['--data', str(data), '--out', str(out), '--preset', 'nano', '--epochs', '2', '--steps', '2',
             '--crop', '32', '--batch', '2', '--val-batch', '2', '--precision', 'float32', '--part-mib', '0.05'])
    rows = list(csv.DictReader(open(out/'history.csv')))
    assert [r['epoch'] for r in rows] == ['1', '2'] and all(np.isfinite(float(r['val_psnr'])) for r in rows)
    run = json.loads((out/'run.json').read_text())
    assert run['epochs_done'] == 2 and run['best_epoch'] in (1, 2) and run['final']['n'] == 2
    assert run['env']['backend'] == 'tensorflow' and run['env']['jit_compile'] is False  # --jit auto: no XLA on TensorFlow
    info = json.loads((out/'weights.json').read_text())
    assert len(info['parts']) > 1  # split at 0.05 MiB
    from llie.model import build_mirnet
    m = build_mirnet('nano'); tb.load_parts(m, out)
    first = np.load(out/info['parts'][0][0])
    np.testing.assert_array_equal(m.weights[0].numpy(), first['0000'].astype('float32'))
    # enhance_backend.py writes the outputs of these weights as 8-bit PNGs (what `llie enhance` writes)
    import enhance_backend, zipfile, io
    from llie.model import predict_image
    enhance_backend.main(['--weights', str(out), '--images', str(data/'low'), '--out', str(tmp_path/'enh'),
                          '--preset', 'nano', '--part-mib', '0.01'])
    arcs = sorted((tmp_path/'enh').glob('enhanced-*.zip'))
    assert len(arcs) > 1  # split at 0.01 MiB
    outs = {n: np.asarray(Image.open(io.BytesIO(zipfile.ZipFile(a).read(n)))) for a in arcs for n in zipfile.ZipFile(a).namelist()}
    assert sorted(outs) == [f'{i}.png' for i in range(6)]
    x = np.asarray(Image.open(data/'low'/'4.png'), 'float32') / 255.
    np.testing.assert_allclose(outs['4.png'].astype(float), np.round(predict_image(m, x).astype(float) * 255), atol=1)
    # a damaged part is refused, never loaded silently
    p = out/info['parts'][0][0]; p.write_bytes(p.read_bytes()[:-8] + b'\0' * 8)
    with pytest.raises(ValueError, match='checksum'): tb.load_parts(build_mirnet('nano'), out)


def test_budget_stops_after_the_first_epoch(data, tmp_path):
    tb.main(['--data', str(data), '--out', str(tmp_path), '--preset', 'nano', '--epochs', '5', '--steps', '1',
             '--crop', '32', '--batch', '2', '--precision', 'float32', '--budget', '1'])
    assert json.loads((tmp_path/'run.json').read_text())['epochs_done'] == 1
