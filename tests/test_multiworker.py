"""Multi-worker training (`strategy='multiworker'`, TensorFlow's `MultiWorkerMirroredStrategy`) on this machine.

Two worker processes (`TF_CONFIG` cluster `{'worker': [127.0.0.1:A, 127.0.0.1:B]}`, task 0 = the chief, task 1)
each call `llie.train.train` on the embedded default dataset with a smoke-sized setup and the same run folder, as
two machines would with the run folder on a shared file system: every worker restores the chief's backup, so the
folder must be the same one (Keras' `BackupAndRestore`, which `ResumableBackup` extends, has no notion of chief and
reads its backups from the folder it is given). The tests check that

- the two workers really train as one: two replicas, the same optimizer steps and the same final weights;
- only the chief writes into the run folder (checkpoints, weights, history, summaries); the other worker writes
  nothing there and leaves nothing behind anywhere (its scratch copies are deleted);
- the result matches a one-worker run (`strategy='default'`) with the same seed and global batch (MWMS gives each
  worker half of every global batch and sums the gradients), within float32 rounding;
- after worker 1 is SIGKILLed in the second epoch (after the first epoch's backup), the chief stops too, and
  rerunning both workers resumes from the backup: the history continues, every epoch once, the optimizer state and
  the data stream continue, and the end matches the uninterrupted two-worker run.

Who writes what is recorded inside each worker by a Python audit hook (`sys.addaudithook`: `open` for writing,
`os.mkdir`, `os.rename`/`os.replace`, `os.remove`, `os.rmdir`, `shutil.rmtree`, ...) while `train()` runs. HDF5
data written by h5py's C library is not seen as such, but every weights file train() writes is either moved into
place by `os.replace` (`atomic_path`) or written into a backup folder made by `os.mkdir`, which are seen; the test
first checks that the chief's writes were all seen, so an empty record for worker 1 means something.

Each training runs in a child process: this file run as a script (`python tests/test_multiworker.py SPEC.json`),
with TMPDIR inside the test's folder (a killed worker cannot delete its scratch folder).
The module fixture starts the one-worker reference, the uninterrupted pair and the pair to be killed at once (five
TensorFlow processes), kills worker 1 of the last pair where it blocks and restarts that pair. Slow (minutes):
`pytest --runslow tests/test_multiworker.py`. The cluster addresses are 127.0.0.1 ports picked free; TensorFlow's
gRPC server itself listens on that port on every interface (it has no bind-address option).
"""
import csv, json, os, re, signal, socket, subprocess, sys, time
from pathlib import Path
import numpy as np

HERE = Path(__file__).resolve().parent
TIMEOUT = 2400     # seconds per child: ~30 s of CPU each (tracing MIRNet's graphs), far more wall time under a nice-0 training
KILL_WAIT = 240    # seconds the chief may take to notice that worker 1 is gone (at most HEARTBEAT_S plus a little)
# TensorFlow's coordination service declares a task dead after 10 s without a heartbeat. These children run at
# nice 19 next to other work, and a starved one missed that at start-up ("Barrier failed ... task:0 heartbeat
# timeout"), so the children start the same service MWMS would start, with a longer heartbeat timeout.
HEARTBEAT_S = 60
EPOCHS, STEPS = 3, 3
# the smoke profile (configs/smoke.yaml), with one more epoch and step so that a kill can fall between two backups
SETTINGS = dict(data=None, preset='nano', epochs=EPOCHS, steps_per_epoch=STEPS, batch_size=2, crop_size=48,
                max_val_images=2, seed=0, precision='float32', verbose=True)
PAUSE_AT = [1, 0]  # worker 1 of the killed pair blocks after this training batch (epoch, batch; 0-based)
# Tolerances. Two workers compute the same global batch as one process, but the gradient of the batch is the sum of
# two per-worker halves: only the order of float32 sums differs. Measured (TF 2.21, Keras 3.15, CPU, 3 runs): max
# |weight diff| 3e-8 to 4.5e-8 after 9 steps, while Adam moved the weights by up to 9e-4; loss <= 1.2e-7 relative,
# val_loss and val_psnr identical; the two workers' weights identical; resumed vs uninterrupted pair identical.
WEIGHT_TOL = 1e-5      # absolute, on every weight (Adam's step per weight is ~lr = 1e-4)
HISTORY_RTOL = 1e-4    # relative, on loss, val_loss and val_psnr of every epoch

if __name__ != '__main__':
    import pytest
    pytestmark = pytest.mark.slow


# ----------------------------------------------------------------------------------------------------------- child
_WRITE_EVENTS = {'open', 'os.mkdir', 'os.rename', 'os.remove', 'os.rmdir', 'os.truncate', 'os.utime', 'os.link',
                 'os.symlink', 'shutil.rmtree', 'shutil.copyfile', 'shutil.move', 'shutil.copytree'}

def _written_paths(event, args):
    "The paths a file-system audit event writes (creates, changes, moves or deletes); [] for reads."
    def norm(p): return os.path.realpath(os.fsdecode(p))
    def fd(x): return x not in (None, -1)   # CPython reports an absent dir_fd as -1 (shutil.rmtree as None)
    if event == 'open':   # builtins/io.open: (file, mode, flags); os.open: (path, None, flags)
        path, mode, flags = args
        if isinstance(path, int) or path is None: return []
        if os.path.isdir(path): return []   # O_TMPFILE (tempfile.TemporaryFile): an unnamed file, gone when closed
        w = any(c in mode for c in 'wax+') if isinstance(mode, str) else \
            bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC))
        return [norm(path)] if w else []
    if event in ('os.rename', 'os.link'):   # (src, dst, src_dir_fd, dst_dir_fd)
        return [] if fd(args[2]) or fd(args[3]) else [norm(args[0]), norm(args[1])]
    if event == 'shutil.move': return [norm(args[0]), norm(args[1])]
    if event == 'os.symlink': return [] if fd(args[2]) else [norm(args[1])]
    if event in ('shutil.copyfile', 'shutil.copytree'): return [norm(args[1])]
    if event == 'os.truncate': return [] if isinstance(args[0], int) else [norm(args[0])]
    # os.mkdir (path, mode, dir_fd), os.remove/os.rmdir/shutil.rmtree (path, dir_fd), os.utime (path, times, ns, dir_fd);
    # a dir_fd means a path relative to an open folder: only shutil.rmtree does that here, and it is recorded itself
    if isinstance(args[0], int) or fd(args[-1]): return []
    return [norm(args[0])]


def child(spec_path):
    """Train once as SPEC says (`run_dir`, `train` kwargs, optional `pause_at`); record every path written while
    train() runs; write `result`.json (summary, history, strategy, replicas, optimizer steps, writes) and
    `result`.npz (initial and final weights) outside the run folder."""
    spec = json.loads(Path(spec_path).read_text())
    import llie.train as T
    if 'TF_CONFIG' in os.environ:   # before TensorFlow's context starts; MWMS then keeps this service
        from tensorflow.python.eager import context
        from tensorflow.compiler.xla.tsl.protobuf import coordination_config_pb2   # where MWMS takes it from
        n = len(json.loads(os.environ['TF_CONFIG'])['cluster']['worker'])
        context.context().configure_coordination_service(
            service_type='standalone', service_leader='/job:worker/replica:0/task:0', heartbeat_timeout_in_ms=HEARTBEAT_S * 1000,
            coordinated_jobs=[coordination_config_pb2.CoordinatedJob(name='worker', num_tasks=n)])
    recording, writes = [False], set()
    def hook(event, args):
        if recording[0] and event in _WRITE_EVENTS:
            try: writes.update((event, p) for p in _written_paths(event, args))
            except Exception as e: writes.add(('unparsed', f'{event} {args!r} {e!r}'))
    sys.addaudithook(hook)
    pause, initial = spec.get('pause_at'), []

    class Marked(T.EpochProgress):
        "The progress callback, plus a marker line per batch and an optional pause (the parent kills us there)."
        def on_train_begin(self, logs=None):   # the first callback: before the backup is restored
            initial.extend(np.asarray(w) for w in self.model.get_weights())
        def on_epoch_begin(self, epoch, logs=None):
            super().on_epoch_begin(epoch, logs); self.epoch = epoch
        def on_train_batch_end(self, batch, logs=None):
            super().on_train_batch_end(batch, logs)
            print(f'@@ step {self.epoch} {batch}', flush=True)
            if pause is not None and [self.epoch, batch] == list(pause):
                print('@@ paused', flush=True)
                time.sleep(3600)
    T.EpochProgress = Marked   # train() looks the class up in its module when verbose=True

    recording[0] = True
    try: res = T.train(spec['run_dir'], **spec['train'])
    finally: recording[0] = False
    model = res['model']; st = model.distribute_strategy
    out = {'summary': res['summary'], 'history': res['history'], 'strategy': type(st).__name__,
           'replicas': st.num_replicas_in_sync, 'iterations': int(model.optimizer.iterations.numpy()),
           'writes': sorted(writes)}
    Path(spec['result'] + '.json').write_text(json.dumps(out, default=str))
    np.savez(spec['result'] + '.npz', *initial, *[np.asarray(w) for w in model.get_weights()])
    print('@@ done', flush=True)


if __name__ == '__main__':
    child(sys.argv[1]); sys.exit(0)


# ---------------------------------------------------------------------------------------------------------- parent
KERAS_MWMS_HINT = """
This is Keras 3's own MultiWorkerMirroredStrategy bug (keras-team/keras#20585, still open): fit() reduces the first
data batch, a tuple of PerReplica values, with strategy.reduce (TensorFlowTrainer._maybe_symbolic_build), and each
step's scalar logs with strategy.reduce('MEAN', v, axis=0) (trainer.reduce_per_replica); both fail with two workers.
train() (get_strategy('multiworker')) needs to work around both before fit() can run under MWMS."""

ARRAY_LINE = re.compile(r'^\s*(array\()?[\[\]\s\d.,eE+-]*(\.\.\.,)?[\[\]\s\d.,eE+-]*$')   # numpy's printing of a tensor

def free_ports(n) -> list:
    "n distinct free TCP ports on 127.0.0.1 (bound together, then released)."
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks: s.bind(('127.0.0.1', 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks: s.close()


class Child:
    "A training child process; its output goes to `name.log`, its results to `results/name.json|npz`."
    def __init__(self, d: Path, name: str, run_dir: Path, env: dict, pause_at=None, **train):
        self.name, self.log, spec = name, d/f'{name}.log', d/f'{name}.json'
        self.result = d/'results'/name; self.result.parent.mkdir(exist_ok=True)
        spec.write_text(json.dumps({'run_dir': str(run_dir), 'pause_at': pause_at, 'result': str(self.result),
                                    'train': {**SETTINGS, **train}}))
        self.t0, self.wall0, self.seconds = time.monotonic(), time.time(), None
        with open(self.log, 'w') as f:
            self.p = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), str(spec)], stdout=f,
                                      stderr=subprocess.STDOUT, env=env, cwd=HERE.parent)
    def text(self) -> str: return self.log.read_text(errors='replace')
    def tail(self, n=4000) -> str:
        "The end of the child's output without step markers and tensor dumps; a diagnosis first if there is one."
        lines = [l for l in self.text().splitlines() if not l.startswith('@@ step') and not ARRAY_LINE.match(l)]
        t = '\n'.join(lines)[-n:]
        known = 'PerReplica' in t or 'Invalid reduction dimension 0 for input with 0 dimensions' in t
        return (KERAS_MWMS_HINT.strip() + '\n--- its output ends:\n' if known else '') + t
    def paused(self) -> bool:
        if '@@ paused' in self.text(): return True
        if self.p.poll() is not None:
            pytest.fail(f'{self.name} exited ({self.p.returncode}) before reaching its pause point {PAUSE_AT}:\n{self.tail()}')
        return False
    def check_running(self, why):
        if self.p.poll() is not None: pytest.fail(f'{self.name} exited ({self.p.returncode}) {why}:\n{self.tail()}')
    def kill(self):
        if self.p.poll() is None: os.kill(self.p.pid, signal.SIGKILL)
        self.p.wait(60)
    def finish(self):
        "Wait for the child (at most TIMEOUT s from its start); fail with its output unless it exits cleanly."
        try: rc = self.p.wait(max(1, TIMEOUT - (time.monotonic() - self.t0)))
        except subprocess.TimeoutExpired:
            self.kill(); pytest.fail(f'{self.name} still running after {TIMEOUT} s (killed):\n{self.tail()}')
        self.seconds = self.log.stat().st_mtime - self.wall0   # until its last output line
        assert rc == 0, f'{self.name} failed (exit {rc}):\n{self.tail()}'
    def res(self) -> dict:
        self.finish(); return json.loads(self.result.with_suffix('.json').read_text())
    def weights(self) -> tuple:
        "(initial, final) weights of the child's model."
        self.finish()
        with np.load(self.result.with_suffix('.npz')) as z: w = [z[f'arr_{i}'] for i in range(len(z.files))]
        return w[:len(w) // 2], w[len(w) // 2:]
    def writes(self) -> set: return {p for _, p in self.res()['writes']}


def start_pair(d, name, run_dir, env, pause_at=None) -> tuple:
    "Start worker 0 (the chief) and worker 1 of a two-worker cluster on fresh 127.0.0.1 ports, both on `run_dir`."
    cluster = {'worker': [f'127.0.0.1:{p}' for p in free_ports(2)]}
    return tuple(Child(d, f'{name}{i}', run_dir, {**env, 'TF_CONFIG': json.dumps(
                     {'cluster': cluster, 'task': {'type': 'worker', 'index': i}})},
                       pause_at=pause_at if i == 1 else None, strategy='multiworker') for i in (0, 1))


def history_epochs(rd) -> list:
    "The epoch column of history.csv, row by row as written (no de-duplication)."
    p = Path(rd)/'history.csv'
    if not p.exists(): return []
    with open(p) as f: return [int(r['epoch']) for r in csv.DictReader(f)]

def history(rd) -> list:
    with open(Path(rd)/'history.csv') as f: return [{k: float(v) for k, v in r.items() if v} for r in csv.DictReader(f)]

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

def max_diff(a, b) -> float:
    assert len(a) == len(b) and all(x.shape == y.shape for x, y in zip(a, b)), 'the two models have different weights'
    return max(float(np.abs(x - y).max()) for x, y in zip(a, b))

def under(paths, folder) -> list:
    f = os.path.realpath(folder)
    return sorted(os.path.relpath(p, f) for p in paths if p == f or p.startswith(f + os.sep))


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    """Start the one-worker reference, the uninterrupted pair `mw` and the pair `kill` at once; SIGKILL worker 1 of
    `kill` where it blocks (after batch 0 of epoch 1), let its chief stop, and restart the pair (`resume`)."""
    d = tmp_path_factory.mktemp('multiworker')
    env = {k: v for k, v in os.environ.items() if k != 'TF_CONFIG'}
    env.update(TF_CPP_MIN_LOG_LEVEL='2', PYTHONUNBUFFERED='1', LLIE_DATA_HOME=str(d/'data_home'),
               TMPDIR=str(d/'tmp'))   # the workers' scratch folders (a killed worker's stays behind) go under d
    (d/'tmp').mkdir()
    # the embedded default dataset, built once here (the workers would otherwise race to build it)
    subprocess.run([sys.executable, '-c', 'from llie.data import default_dataset; default_dataset()'], env=env,
                   cwd=HERE.parent, check=True, timeout=600)
    kids, info = {}, {}
    try:
        kids['ref'] = Child(d, 'ref', d/'ref', env, strategy='default')
        kids['mw0'], kids['mw1'] = start_pair(d, 'mw', d/'mw', env)
        kids['kill0'], kids['kill1'] = start_pair(d, 'kill', d/'kill', env, pause_at=PAUSE_AT)
        t0 = time.monotonic()
        while not kids['kill1'].paused():
            kids['kill0'].check_running('while worker 1 had not reached its pause point')
            if time.monotonic() - t0 > TIMEOUT: pytest.fail(f'worker 1 did not reach its pause point {PAUSE_AT} in {TIMEOUT} s')
            time.sleep(0.5)
        info['before'] = {**state(d/'kill'), 'log': kids['kill1'].text()}
        kids['kill1'].kill()
        t0 = time.monotonic()
        try: info['chief_rc'] = kids['kill0'].p.wait(KILL_WAIT); info['chief_stopped_after'] = time.monotonic() - t0
        except subprocess.TimeoutExpired:
            info['chief_rc'] = None; kids['kill0'].kill()   # it hung: a cluster job that never ends
        info['after_kill'] = state(d/'kill')
        kids['resume0'], kids['resume1'] = start_pair(d, 'resume', d/'kill', env)
        yield d, kids, info
    finally:
        for k in kids.values():
            if k.p.poll() is None: k.kill()
        print('\nchild seconds:', {n: None if k.seconds is None else round(k.seconds) for n, k in kids.items()})


def check_only_chief_writes(d, rd, chief, worker, expected):
    "`chief` wrote `expected` (and more) into `rd`; `worker` wrote nothing there and left nothing anywhere."
    cw, ww = chief.writes(), worker.writes()
    seen = under(cw, rd)
    missing = [e for e in expected if e not in seen]
    assert not missing, (f'the audit hook did not see {chief.name} write {missing} in its run folder (it saw {seen}): '
                         'the record is incomplete, so it cannot show that worker 1 wrote nothing')
    theirs = under(ww, rd)
    assert not theirs, (f'{worker.name} (task 1, not the chief) wrote into the run folder: {theirs}. With '
                        "strategy='multiworker' only the chief (task 0) may write checkpoints, weights, history and "
                        'summaries; the other workers must write their copies into a scratch folder')
    left = sorted(p for p in ww if os.path.lexists(p) and '__pycache__' not in p   # Python's and TensorFlow's caches
                  and not os.path.basename(p).startswith('__autograph_generated_file'))
    assert not left, f'{worker.name} left files or folders behind (its scratch copies must be deleted): {left}'
    return seen, sorted(ww)


def test_two_workers_train_as_one(runs):
    d, kids, _ = runs
    r0, r1 = kids['mw0'].res(), kids['mw1'].res()
    for r in (r0, r1):   # really distributed: one replica in each of two processes, the same steps
        assert (r['strategy'], r['replicas']) == ('CollectiveAllReduceStrategy', 2), (r['strategy'], r['replicas'])  # = tf.distribute.MultiWorkerMirroredStrategy
        assert r['iterations'] == EPOCHS * STEPS
        assert r['summary']['resumed_from_epoch'] is None
    assert r0['summary'].get('chief') is not False and r1['summary'].get('chief') is not True
    # every step all-reduces the gradients, so both workers hold the same model at the end
    (i0, w0), (i1, w1) = kids['mw0'].weights(), kids['mw1'].weights()
    assert max_diff(i0, i1) == 0, 'the workers started from different weights'
    dw = max_diff(w0, w1)
    print(f'\nworker 0 vs worker 1: max |final weight diff| {dw:.2e}')
    assert dw <= 1e-7, f'the two workers ended with different models (max |weight diff| {dw:.2e})'
    assert [h['loss'] for h in r1['history']] == pytest.approx([h['loss'] for h in r0['history']], rel=1e-6)


def test_only_the_chief_writes(runs):
    d, kids, _ = runs
    rd = d/'mw'
    first = ['splits.json', 'train_config.yaml', 'environment.json', 'history.csv', 'checkpoints/latest',
             'checkpoints/epoch-0003', 'last.weights.h5', 'best.weights.h5', 'train_summary.json']
    seen, worker = check_only_chief_writes(d, rd, kids['mw0'], kids['mw1'], first)
    print(f'\nchief wrote {len(seen)} paths in the run folder; worker 1 wrote {len(worker)} paths elsewhere, all deleted')
    # the run folder is the chief's complete run: one row per epoch, the last backup, the summaries, no temporaries
    assert history_epochs(rd) == list(range(EPOCHS))
    st = state(rd)
    assert (st['latest'], st['epoch'], st['iterations']) == (f'epoch-{EPOCHS:04d}', EPOCHS, EPOCHS * STEPS), st
    summary = json.loads((rd/'train_summary.json').read_text())
    assert summary['epochs'] == EPOCHS and summary['optimizer_steps'] == EPOCHS * STEPS
    for f in ('best.weights.h5', 'best.json', 'last.weights.h5', 'last.json', 'train_config.yaml', 'splits.json'):
        assert (rd/f).exists(), f'{f} missing from the run folder'
    tmp = sorted(str(p.relative_to(rd)) for p in rd.rglob('.*') if '.tmp' in p.name)
    assert not tmp, f'temporary files left in the run folder: {tmp}'
    # the restarted pair of the kill test obeys the same rule
    check_only_chief_writes(d, d/'kill', kids['resume0'], kids['resume1'],
                            ['train_config.yaml', 'history.csv', 'checkpoints/latest', 'last.weights.h5', 'train_summary.json'])


def test_matches_one_worker_run(runs):
    """Two workers with a global batch of 2 (one crop each) train the model a single process trains on batches of 2."""
    d, kids, _ = runs
    (i_ref, w_ref), (i_mw, w_mw) = kids['ref'].weights(), kids['mw0'].weights()
    assert kids['ref'].res()['replicas'] == 1 and kids['ref'].res()['iterations'] == EPOCHS * STEPS
    assert max_diff(i_mw, i_ref) == 0, 'same seed, yet the two-worker run started from other weights'
    moved, diff = max_diff(w_ref, i_ref), max_diff(w_mw, w_ref)
    h_ref, h_mw = history(d/'ref'), history(d/'mw')
    rel = {k: max(abs(a[k] - b[k]) / abs(b[k]) for a, b in zip(h_mw, h_ref)) for k in ('loss', 'val_loss', 'val_psnr')}
    print(f'\ntwo workers vs one: max |weight diff| {diff:.2e} (training moved weights by up to {moved:.2e}); '
          'max relative history diff ' + ', '.join(f'{k} {v:.1e}' for k, v in rel.items()))
    assert moved > 10 * WEIGHT_TOL, 'training hardly moved the weights: the comparison would prove nothing'
    assert diff < WEIGHT_TOL, (f'the two-worker model differs from the one-worker model by up to {diff:.2e} per weight '
                               f'(tolerance {WEIGHT_TOL}): the workers did not split the same global batches')
    assert len(h_mw) == len(h_ref) == EPOCHS
    for k, v in rel.items(): assert v < HISTORY_RTOL, f'{k} differs by {v:.1e} relative (tolerance {HISTORY_RTOL})'


def test_killed_worker_resumes(runs):
    d, kids, info = runs
    b, rd = info['before'], d/'kill'
    # worker 1 was killed in the second epoch, after the first epoch's backup (with the optimizer's 3 steps)
    assert f'@@ step {PAUSE_AT[0]} {PAUSE_AT[1]}' in b['log'] and f'@@ step {PAUSE_AT[0]} {PAUSE_AT[1] + 1}' not in b['log']
    assert b['epochs'] == [0], f"history.csv before the kill: epochs {b['epochs']}, expected [0]"
    assert (b['latest'], b['epoch'], b['iterations']) == ('epoch-0001', 1, STEPS), b
    # the chief cannot go on alone: it stops with an error (not a hang, not a clean exit) and changes nothing
    assert info['chief_rc'] is not None, f'the chief still ran {KILL_WAIT} s after worker 1 was killed (it was killed then)'
    assert info['chief_rc'] != 0, 'the chief exited 0 although worker 1 was killed in the middle of the run'
    print(f"\nchief stopped {info['chief_stopped_after']:.0f} s after worker 1 was killed (exit {info['chief_rc']})")
    assert info['after_kill'] == {k: b[k] for k in info['after_kill']}, 'the run folder changed after the kill'
    # rerunning both workers resumes from that backup
    r0, r1 = kids['resume0'].res(), kids['resume1'].res()
    for k in ('resume0', 'resume1'):
        log = kids[k].text()
        assert '@@ step 0 ' not in log and '@@ step 1 0' in log, f'{k} did not start at epoch 1:\n{kids[k].tail()}'
    for r in (r0, r1):
        assert r['summary']['resumed_from_epoch'] == 1, r['summary']
        assert r['iterations'] == EPOCHS * STEPS   # the optimizer state (3 steps) was restored and continued
    assert history_epochs(rd) == list(range(EPOCHS)), f'history.csv rows: {history_epochs(rd)}'
    st = state(rd)
    assert (st['latest'], st['epoch'], st['iterations']) == (f'epoch-{EPOCHS:04d}', EPOCHS, EPOCHS * STEPS), st
    assert json.loads((rd/'train_summary.json').read_text())['epochs'] == EPOCHS
    # the resumed run ends like the uninterrupted two-worker run: same epochs before the kill, same data stream after
    (_, w_a), (_, w_b) = kids['resume0'].weights(), kids['resume1'].weights()
    assert max_diff(w_a, w_b) <= 1e-7, 'the resumed workers ended with different models'
    diff = max_diff(w_a, kids['mw0'].weights()[1])
    print(f'resumed vs uninterrupted two-worker run: max |weight diff| {diff:.2e}')
    assert diff < WEIGHT_TOL, f'the resumed run ended {diff:.2e} away from the uninterrupted run (tolerance {WEIGHT_TOL})'
    h, h_mw = history(rd), history(d/'mw')
    for k in ('loss', 'val_loss', 'val_psnr'):
        assert [x[k] for x in h] == pytest.approx([x[k] for x in h_mw], rel=HISTORY_RTOL), k
