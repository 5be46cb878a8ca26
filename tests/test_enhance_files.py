"""`llie enhance` interrupted from outside: SIGTERM (job schedulers, `docker stop`) and SIGINT during a batch must leave
no temporary files, only complete results, and exit 143 / 130; `--skip-existing` then finishes the batch."""
import os, sys, time, signal, subprocess
from pathlib import Path
import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
EXE = Path(sys.executable).parent/'llie'
CMD = [str(EXE)] if EXE.exists() else [sys.executable, '-m', 'llie.cli']
ENV = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '3'}


@pytest.fixture
def batch(tmp_path):
    "40 small dark photos: enough work that a signal arrives mid-batch."
    d = tmp_path/'in'; d.mkdir()
    rng = np.random.default_rng(0)
    for i in range(40): Image.fromarray(rng.integers(0, 80, (160, 240, 3), dtype=np.uint8)).save(d/f'img{i:02d}.png')
    return d


def interrupt(batch, out, weights, sig):
    "Start `llie enhance` on `batch`, send `sig` once the first results are written; returns (returncode, stderr)."
    p = subprocess.Popen([*CMD, 'enhance', str(batch), '-o', str(out), '--weights', str(weights), '--no-progress'],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, cwd=ROOT,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # a shell's background job ignores SIGINT; the child must not
    t0 = time.time()
    while time.time() - t0 < 240 and p.poll() is None:
        if out.is_dir() and len([q for q in out.iterdir() if not q.name.startswith('.')]) >= 2: break
        time.sleep(0.02)
    assert p.poll() is None, 'the batch finished before it could be interrupted'
    p.send_signal(sig)
    _, err = p.communicate(timeout=120)
    return p.returncode, err


def check_clean(out):
    names = sorted(q.name for q in out.iterdir())
    assert not [n for n in names if n.startswith('.')], names       # no hidden temporary files
    for n in names:                                                 # every result present is complete
        with Image.open(out/n) as im: im.load(); assert im.size == (240, 160)
    return names


@pytest.mark.parametrize('sig,code', [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_leaves_no_partial_files(tmp_path, batch, weights, sig, code):
    out = tmp_path/'out'
    rc, err = interrupt(batch, out, weights, sig)
    assert rc == code, err
    assert ('terminated' if sig == signal.SIGTERM else 'interrupted') in err
    names = check_clean(out)
    assert 2 <= len(names) < 40
    # continue the batch: the finished results are kept, the rest is done
    r = subprocess.run([*CMD, 'enhance', str(batch), '-o', str(out), '--weights', str(weights), '--skip-existing'],
                       capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stderr
    assert f'{40 - len(names)} enhanced, 0 failed, {len(names)} skipped' in r.stdout, r.stdout
    assert len(check_clean(out)) == 40
