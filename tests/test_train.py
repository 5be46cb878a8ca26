"""Integration tests of `llie.train.train`: a run SIGKILLed in the middle of an epoch (or in its first epoch) resumes
and ends like an uninterrupted run, and `MirroredStrategy` over two logical CPUs trains the same model as the
default strategy.

Every training runs in a child process (`tests/train_child.py`), with the CPU split into two logical devices
(possible only before TensorFlow initialises) so that all runs share one setting. Each child spends most of its
time tracing the training graph, so the module fixture starts the four independent trainings at once, kills two
of them at known points (the child blocks after a given batch and says so) and restarts them at once.
That is still about five minutes of CPU (six TensorFlow processes), so the module is marked `slow`:
run it with `pytest --runslow tests/test_train.py` (see conftest.py).
"""
import csv, json, os, signal, subprocess, sys, time
from pathlib import Path
import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
ENV = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '3', 'PYTHONUNBUFFERED': '1'}
TIMEOUT = 1500  # seconds per child: tracing MIRNet's training graph costs ~30 s of CPU, slower on a busy machine
EPOCHS, STEPS = 4, 6
pytestmark = pytest.mark.slow
SETTINGS = dict(preset='nano', epochs=EPOCHS, steps_per_epoch=STEPS, batch_size=2, crop_size=32, seed=0,
                verbose=True, val_fraction=0.25, test_fraction=0.0)   # 8 pairs: 6 to train on, 2 to validate


def make_dataset(root: Path, n=8, hw=(48, 64)) -> Path:
    "`n` pairs of smooth random images (bicubic upsampling of 6x8 noise); low = 0.2 * high."
    from PIL import Image
    from llie.data import write_image
    rng = np.random.default_rng(0)
    for i in range(n):
        small = Image.fromarray((rng.random((6, 8, 3)) * 255).astype(np.uint8))
        high = np.asarray(small.resize(hw[::-1], Image.BICUBIC), np.float32) / 255
        write_image(root/'high'/f'{i}.png', high); write_image(root/'low'/f'{i}.png', 0.2 * high)
    return root


def history_epochs(rd) -> list:
    "The epoch column of history.csv, row by row as written (no de-duplication)."
    p = Path(rd)/'history.csv'
    if not p.exists(): return []
    with open(p) as f: return [int(r['epoch']) for r in csv.DictReader(f)]


def history(rd) -> list:
    with open(Path(rd)/'history.csv') as f: return [{k: float(v) for k, v in r.items()} for r in csv.DictReader(f)]


def backup_iterations(weights) -> int:
    "The optimizer's step counter in a Keras weights file (`optimizer/vars/0`, the first optimizer variable)."
    import h5py
    with h5py.File(weights, 'r') as f: return int(f['optimizer/vars/0'][()])


def state(rd) -> dict:
    "What a restart finds in a run folder: history rows, the backup `latest` points to, its epoch and optimizer step."
    rd = Path(rd); out = {'epochs': history_epochs(rd), 'latest': None, 'epoch': None, 'iterations': None}
    p = rd/'checkpoints'/'latest'
    if p.exists():
        b = rd/'checkpoints'/p.read_text().strip()
        out.update(latest=b.name, epoch=json.loads((b/'state.json').read_text())['epoch'],
                   iterations=backup_iterations(b/'model.weights.h5'))
    return out


def result(rd) -> dict: return json.loads((Path(rd)/'child_result.json').read_text())
def summary(rd) -> dict: return json.loads((Path(rd)/'train_summary.json').read_text())
def weights(rd, which='final') -> list:
    with np.load(Path(rd)/f'{which}_weights.npz') as z: return [z[f'arr_{i}'] for i in range(len(z.files))]
def max_diff(a, b) -> float:
    assert len(a) == len(b) and all(x.shape == y.shape for x, y in zip(a, b))
    return max(float(np.abs(x - y).max()) for x, y in zip(a, b))


class Child:
    "A training child process (`train_child.py`) whose output goes to a log file."
    def __init__(self, d: Path, name: str, runs: list, pause_at=None):
        self.name, self.log, spec = name, d/f'{name}.log', d/f'{name}.json'
        spec.write_text(json.dumps({'logical_cpus': 2, 'pause_at': pause_at, 'runs': runs}))
        self.t0, self.wall0, self.seconds = time.monotonic(), time.time(), None
        with open(self.log, 'w') as f:
            self.p = subprocess.Popen([sys.executable, str(HERE/'train_child.py'), str(spec)], stdout=f,
                                      stderr=subprocess.STDOUT, env=ENV, cwd=HERE.parent)
    def text(self) -> str: return self.log.read_text(errors='replace')
    def tail(self) -> str: return '\n'.join(l for l in self.text().splitlines() if not l.startswith('@@ step'))[-4000:]
    def paused(self) -> bool:
        if '@@ paused' in self.text(): return True
        if self.p.poll() is not None: pytest.fail(f'{self.name} exited ({self.p.returncode}) before pausing:\n{self.tail()}')
        return False
    def kill(self):
        os.kill(self.p.pid, signal.SIGKILL)
        assert self.p.wait(60) == -signal.SIGKILL
    def finish(self):
        "Wait for the child; fail with its output unless it exits cleanly."
        try: rc = self.p.wait(max(1, TIMEOUT - (time.monotonic() - self.t0)))
        except subprocess.TimeoutExpired:
            self.p.kill(); self.p.wait(); pytest.fail(f'{self.name} still running after {TIMEOUT} s:\n{self.tail()}')
        self.seconds = self.log.stat().st_mtime - self.wall0   # until its last output line
        assert rc == 0, f'{self.name} failed (exit {rc}):\n{self.tail()}'


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    """Start the reference, mirrored, to-be-killed-mid-epoch and to-be-killed-in-epoch-0 trainings at once; kill
    the last two where they block (after batch 3 of epoch 2, after batch 1 of epoch 0) and restart them at once."""
    d = tmp_path_factory.mktemp('train'); data = make_dataset(d/'data')
    def run(name, **kw): return [{'run_dir': str(d/name), 'train': {**SETTINGS, 'data': str(data), **kw}}]
    kids = {}
    try:
        kids['ref'] = Child(d, 'ref', run('ref'))
        kids['mirrored'] = Child(d, 'mirrored', run('mirrored', strategy='mirrored'))
        kids['mid'] = Child(d, 'mid', run('mid'), pause_at=[2, 3])
        kids['early'] = Child(d, 'early', run('early'), pause_at=[0, 1])
        before, t0 = {}, time.monotonic()
        while len(before) < 2:
            for name in ('mid', 'early'):
                if name not in before and kids[name].paused():
                    kids[name].kill()
                    before[name] = {**state(d/name), 'log': kids[name].text()}
                    kids[name + '-restart'] = Child(d, name + '-restart', run(name))
            if time.monotonic() - t0 > TIMEOUT: pytest.fail('the children did not reach their pause points in time')
            time.sleep(0.5)
        yield d, kids, before
    finally:
        for k in kids.values():
            if k.p.poll() is None: k.p.kill(); k.p.wait()
        print('\nchild seconds:', {n: None if k.seconds is None else round(k.seconds) for n, k in kids.items()})


def test_sigkill_mid_epoch_resumes(runs):
    d, kids, before = runs
    b, rd = before['mid'], d/'mid'
    # killed in the middle of the third epoch: two epochs logged and backed up (with the optimizer's 12 steps)
    assert '@@ step 2 3' in b['log'] and '@@ step 2 4' not in b['log']
    assert b['epochs'] == [0, 1]
    assert (b['latest'], b['epoch'], b['iterations']) == ('epoch-0002', 2, 2 * STEPS)
    kids['mid-restart'].finish(); kids['ref'].finish()
    assert '@@ step 0 ' not in kids['mid-restart'].text() and '@@ step 2 0' in kids['mid-restart'].text()
    # every epoch logged exactly once; the restart resumed from the backup it found
    assert history_epochs(rd) == list(range(EPOCHS))
    assert summary(rd)['resumed_from_epoch'] == b['epoch']
    # the optimizer state was restored (12 steps) and continued (24 in all), in memory and in the last backup
    assert result(rd)['iterations'] == EPOCHS * STEPS
    assert state(rd)['iterations'] == EPOCHS * STEPS and state(rd)['epoch'] == EPOCHS
    # the epochs before the kill are the uninterrupted run's, not repeated ones
    h, ref = history(rd), history(d/'ref')
    for k in ('loss', 'val_loss', 'val_psnr'):
        assert [r[k] for r in h[:2]] == pytest.approx([r[k] for r in ref[:2]], rel=1e-5), k
    # best.weights.h5 loads and holds the best epoch over both sessions (its state survived the restart)
    from llie.model import load_model
    best_json = json.loads((rd/'best.json').read_text())
    i = int(np.argmax([r['val_psnr'] for r in h]))
    assert best_json['epoch'] == i + 1 and best_json['val_psnr'] == pytest.approx(h[i]['val_psnr'])
    best = load_model(rd/'best.weights.h5').get_weights()
    assert (max_diff(best, weights(rd)) == 0) == (i == EPOCHS - 1)
    # the end is close to the uninterrupted run with the same seed
    dpsnr, dw = h[-1]['val_psnr'] - ref[-1]['val_psnr'], max_diff(weights(rd), weights(d/'ref'))
    print(f"\nresumed: final val_psnr {h[-1]['val_psnr']:.4f} dB, uninterrupted {ref[-1]['val_psnr']:.4f} dB "
          f"(diff {dpsnr:+.4f}); max |weight diff| {dw:.2e}")
    assert abs(dpsnr) < 0.5


def test_resume_continues_the_data_stream(runs):
    """The resumed epochs train on the crops the uninterrupted run used in those epochs (not those of the first
    epochs again), so a resumed run ends with the uninterrupted run's weights, as a restart from scratch does."""
    d, kids, _ = runs
    kids['mid-restart'].finish(); kids['ref'].finish()
    h, ref = history(d/'mid'), history(d/'ref')
    assert [r['loss'] for r in h] == pytest.approx([r['loss'] for r in ref], rel=1e-5), \
        'the resumed epochs saw other crops than the uninterrupted run: the training data stream restarted from its beginning'
    assert max_diff(weights(d/'mid'), weights(d/'ref')) < 1e-5


def test_sigkill_in_first_epoch_restarts_from_scratch(runs):
    d, kids, before = runs
    b, rd = before['early'], d/'early'
    assert '@@ step 0 1' in b['log'] and '@@ step 0 2' not in b['log']
    assert b['epochs'] == [] and b['latest'] is None   # killed before the first backup
    kids['early-restart'].finish(); kids['ref'].finish()
    assert history_epochs(rd) == list(range(EPOCHS))
    assert summary(rd)['resumed_from_epoch'] is None
    assert result(rd)['iterations'] == EPOCHS * STEPS
    # nothing of the killed attempt leaks into the restart: it trains like the uninterrupted run. Both are the same
    # computation on the same data; only the order of multi-threaded float32 sums can differ (~1e-7 seen)
    assert max_diff(weights(rd), weights(d/'ref')) < 1e-5
    assert [r['val_psnr'] for r in history(rd)] == pytest.approx([r['val_psnr'] for r in history(d/'ref')], abs=1e-4)


def test_mirrored_on_two_logical_cpus_matches_default(runs):
    d, kids, _ = runs
    kids['mirrored'].finish(); kids['ref'].finish()
    m, r = result(d/'mirrored'), result(d/'ref')
    # really distributed: two replicas, each variable mirrored on both logical CPUs
    assert (m['strategy'], m['replicas']) == ('MirroredStrategy', 2)
    assert len(m['variable_devices']) == 2 and all('CPU:' in x for x in m['variable_devices'])
    assert (r['replicas'], len(r['variable_devices'])) == (1, 1)
    assert m['iterations'] == r['iterations'] == EPOCHS * STEPS
    # same start (same seed) ...
    w0 = weights(d/'ref', 'initial')
    assert max_diff(weights(d/'mirrored', 'initial'), w0) == 0
    # ... and the same 24 steps: each replica gets one crop of the global batch of 2 and the gradients are summed
    # across replicas, which only reorders float32 sums. Adam's update per step is about lr = 1e-4 per weight, so
    # the weights move by ~24 * 1e-4; rounding differences (~1e-7 relative) must stay far below one step.
    moved, diff = max_diff(weights(d/'ref'), w0), max_diff(weights(d/'mirrored'), weights(d/'ref'))
    print(f'\nmirrored vs default: max |weight diff| {diff:.2e}, max |weight change in training| {moved:.2e}')
    assert moved > 10 * 1e-4
    assert diff < 1e-5
    hm, hr = history(d/'mirrored'), history(d/'ref')
    for k in ('loss', 'val_loss', 'val_psnr'):
        assert [x[k] for x in hm] == pytest.approx([x[k] for x in hr], rel=1e-4), k
