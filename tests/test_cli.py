"""End-to-end tests of the `llie` command line, run as subprocesses with a random `nano` model."""
import os, sys, subprocess, hashlib
from pathlib import Path
import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
EXE = Path(sys.executable).parent/'llie'
CMD = [str(EXE)] if EXE.exists() else [sys.executable, '-m', 'llie.cli']
ENV = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '3'}


def llie(*args, timeout=300):
    "Run the `llie` command; returns the CompletedProcess (text output)."
    return subprocess.run([*CMD, *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=ENV)


def digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(Path(folder).iterdir())}


@pytest.fixture
def photos(tmp_path):
    "Two small good images (PNG and JPEG, different sizes) and a truncated PNG."
    d = tmp_path/'in'; d.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 90, (40, 60, 3), dtype=np.uint8)).save(d/'dark1.png')
    Image.fromarray(rng.integers(0, 90, (45, 31, 3), dtype=np.uint8)).save(d/'dark2.jpg', quality=95)
    (d/'broken.png').write_bytes((d/'dark1.png').read_bytes()[:150])
    return d


def test_help():
    r = llie('--help')
    assert r.returncode == 0, r.stderr
    for cmd in ('enhance', 'export', 'report'): assert cmd in r.stdout
    r = llie('enhance', '--help')
    assert r.returncode == 0 and '--weights' in r.stdout and '--tile' in r.stdout
    r = subprocess.run([sys.executable, '-m', 'llie.cli', '--help'], capture_output=True, text=True, cwd=ROOT, env=ENV, timeout=60)
    assert r.returncode == 0 and 'enhance' in r.stdout


def test_help_does_not_import_tensorflow():
    code = ('import sys, contextlib, io; from llie.cli import main\n'
            'with contextlib.redirect_stdout(io.StringIO()): rc = main(["enhance", "--help"])\n'
            'assert rc == 0 and "tensorflow" not in sys.modules and "keras" not in sys.modules, sorted(sys.modules)')
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=ENV, timeout=60)
    assert r.returncode == 0, r.stderr


def test_usage_errors(tmp_path, weights):
    assert llie('enhance', 'x.png').returncode == 2                                  # no -o
    r = llie('enhance', 'x.png', '-o', tmp_path/'o', '--tile', '50')
    assert r.returncode == 2 and 'multiple of 4' in r.stderr
    assert llie('enhance', 'x.png', '-o', tmp_path/'o', '--format', 'gif').returncode == 2
    r = llie('enhance', tmp_path/'nothing.png', '-o', tmp_path/'o', '--weights', weights)
    assert r.returncode == 2 and 'nothing.png' in r.stderr
    assert not (tmp_path/'o').exists()


def test_enhance_folder(tmp_path, photos, weights):
    before = digest(photos)
    out = tmp_path/'out'
    r = llie('enhance', photos, '-o', out, '--weights', weights)
    assert r.returncode == 1, r.stdout + r.stderr                                     # one file failed
    assert sorted(p.name for p in out.iterdir()) == ['dark1.png', 'dark2.png']
    for name in ('dark1', 'dark2'):
        src = next(photos.glob(name + '.*'))
        with Image.open(src) as a, Image.open(out/f'{name}.png') as b:
            assert a.size == b.size and b.mode == 'RGB'
    assert 'broken.png' in r.stdout and '2 enhanced, 1 failed' in r.stdout
    assert 's per megapixel' in r.stdout
    assert digest(photos) == before                                                    # inputs untouched


def test_enhance_files_and_formats(tmp_path, photos, weights):
    out = tmp_path/'out'
    r = llie('enhance', photos/'dark1.png', str(photos/'dark2.*'), '-o', out, '--weights', weights,
             '--format', 'jpg', '--tile', '16', '--overlap', '4')
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(p.name for p in out.iterdir()) == ['dark1.jpg', 'dark2.jpg']
    with Image.open(out/'dark2.jpg') as im: assert im.size == (31, 45) and im.format == 'JPEG'


def test_refuses_to_overwrite(tmp_path, photos, weights):
    out = tmp_path/'out'
    assert llie('enhance', photos/'dark1.png', '-o', out, '--weights', weights).returncode == 0
    res = out/'dark1.png'
    data, ino = res.read_bytes(), res.stat().st_ino
    r = llie('enhance', photos/'dark1.png', '-o', out, '--weights', weights)
    assert r.returncode != 0 and 'exists already' in r.stderr
    assert res.read_bytes() == data and res.stat().st_ino == ino                       # untouched
    r = llie('enhance', photos/'dark1.png', '-o', out, '--weights', weights, '--overwrite')
    assert r.returncode == 0, r.stderr
    assert res.stat().st_ino != ino                                                    # replaced (atomically)
    with Image.open(res) as im: assert im.size == (60, 40)
    # an input is never overwritten, even with --overwrite
    before = digest(photos)
    r = llie('enhance', photos/'dark1.png', '-o', photos, '--weights', weights, '--overwrite')
    assert r.returncode == 2 and 'input' in r.stderr and digest(photos) == before


def test_export(tmp_path, weights):
    r = llie('export', '--weights', weights, '-o', tmp_path/'exp')
    assert r.returncode == 0, r.stderr
    assert (tmp_path/'exp'/'saved_model'/'saved_model.pb').exists() and (tmp_path/'exp'/'model.json').exists()
    assert llie('export', '--weights', weights, '-o', tmp_path/'exp').returncode == 2  # exists already
