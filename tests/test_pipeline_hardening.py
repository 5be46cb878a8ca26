"""Hostile cases for the pipeline and the weight loader (issue 25 items 2, 3, 4; issue 24 items 2, 4).

The pipeline tests run `llie.pipeline.run_pipeline` on small stand-in stage notebooks (`nbs_dir` patched), so a
kernel can be killed mid-training in seconds; the weight tests build each bad file here and run the real CLI."""
import os, re, sys, json, subprocess
from pathlib import Path
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOISE = re.compile(r'cuda|absl|oneDNN|cuInit', re.I)


def _nb(path: Path, cells: list):
    "Write a notebook of (source, tags) code cells."
    import nbformat
    nb = nbformat.v4.new_notebook()
    for src, tags in cells:
        c = nbformat.v4.new_code_cell(src)
        if tags: c.metadata['tags'] = list(tags)
        nb.cells.append(c)
    nb.metadata['kernelspec'] = {'name': 'python3', 'display_name': 'python3', 'language': 'python'}
    nbformat.write(nb, str(path))


@pytest.fixture
def fake_stages(tmp_path, monkeypatch):
    "Stand-in stage notebooks: 01_data has a cell tagged `test`; 04_train logs 3 epochs, checkpoints, then SIGKILLs its kernel."
    import llie.pipeline as P
    nbs = tmp_path/'nbs'; nbs.mkdir()
    params = ('run_dir = None\nseed = 0\n', ['parameters'])
    for s in P.STAGES: _nb(nbs/f'{s}.ipynb', [params, ('x = 1', None)])
    _nb(nbs/'01_data.ipynb', [params, ('from pathlib import Path\nPath(run_dir, "unit-test-ran").write_text("yes")', ['test']),
                              ('print("the stage work")', None)])
    _nb(nbs/'04_train.ipynb', [params, (
        'import os, json, signal\nfrom pathlib import Path\nd = Path(run_dir)\n'
        '(d/"history.csv").write_text("epoch,loss\\n0,1.0\\n1,0.5\\n2,0.4\\n")\n'
        '(d/"checkpoints/epoch-0003").mkdir(parents=True)\n'
        '(d/"checkpoints/epoch-0003/state.json").write_text(json.dumps({"epoch": 3}))\n'
        '(d/"checkpoints/latest").write_text("epoch-0003")\n'
        'os.kill(os.getpid(), signal.SIGKILL)', None)])
    monkeypatch.setattr(P, 'nbs_dir', lambda: nbs)
    (tmp_path/'tiny.yaml').write_text('description: stand-in stages\nseed: 0\n')
    return P, str(tmp_path/'tiny.yaml')


def test_dead_training_kernel_is_one_line(fake_stages, tmp_path, capsys):
    "Issue 25 item 5: a killed training kernel is 'training stopped at epoch N; rerun the same command to resume', exit 1."
    P, prof = fake_stages
    rc = P.main(['--profile', prof, '--reports', str(tmp_path/'reports'), '--run-name', 'r1', '--stages', '04_train'])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1
    assert err[-1] == 'llie report: error: training stopped at epoch 3; rerun the same command to resume'
    assert len([l for l in err if 'error' in l]) == 1 and 'Traceback' not in '\n'.join(err)
    # without --run-name the folder has a time stamp: the hint names it, so that a rerun resumes there
    with pytest.raises(P.LLIEError, match=r'training stopped at epoch 3; rerun the same command with --run-name tiny-\d{8}-\d{6} to resume'):
        P.run_pipeline(prof, reports=tmp_path/'reports', stages=['04_train'], progress=False)


def test_cells_tagged_test_are_skipped(fake_stages, tmp_path):
    "Issue 24 item 2: papermill runs a copy of the notebook without the cells tagged `test`; the copy is removed."
    import nbformat
    P, prof = fake_stages
    run = P.run_pipeline(prof, run_name='r2', reports=tmp_path/'reports', stages=['01_data'], progress=False)
    nb = nbformat.read(str(run/'01_data.ipynb'), as_version=4)
    assert [c for c in nb.cells if 'test' in c.metadata.get('tags', [])] == []
    assert any('the stage work' in ''.join(o.get('text', '') for o in c.get('outputs', [])) for c in nb.cells)
    assert not (run/'unit-test-ran').exists()
    assert sorted(p.name for p in run.iterdir() if p.name.startswith('.')) == []  # the filtered copy is gone


def test_bad_values_listed_before_anything_runs(tmp_path):
    "Issue 25 item 2: every bad value in one message, exit 1, no report folder, no traceback."
    r = subprocess.run([sys.executable, '-m', 'llie.pipeline', '--profile', 'smoke', '--reports', str(tmp_path/'rep'),
                        'epochs=abc', 'batch_size=0', 'crop_size=3', 'lr=-1'], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 1 and 'Traceback' not in r.stderr
    assert '4 bad parameter value(s)' in r.stderr
    for s in ("epochs='abc'", 'batch_size=0', 'crop_size=3', 'lr=-1'): assert s in r.stderr
    assert not (tmp_path/'rep').exists()


@pytest.fixture(scope='module')
def hostile_weights(tmp_path_factory):
    "Every bad weights file of issue 25 item 4, built here (in a child process: Keras stays out of pytest's process)."
    d = tmp_path_factory.mktemp('weights')
    code = f'''
import json, keras
from pathlib import Path
from keras import layers
from llie.model import build_mirnet, save_model, model_config
d = Path({str(d)!r})
(d/'corrupt.keras').write_bytes(b'PK\\x03\\x04 this is not a zip')
inp = keras.Input((4, 4, 3)); keras.Model(inp, layers.Lambda(lambda x: x * 2)(inp)).save(d/'lambda.keras')
save_model(build_mirnet('fast'), d/'good.weights.h5'); good = (d/'good.weights.h5').read_bytes()
for n in ('badjson', 'nokey', 'truncated', 'corrupt', 'otherarch'):
    (d/f'{{n}}.weights.h5').write_bytes(good); (d/f'{{n}}.json').write_text((d/'good.json').read_text())
(d/'badjson.json').write_text('{{"architecture": ')
(d/'nokey.json').write_text('{{"epochs": 3}}')
(d/'truncated.weights.h5').write_bytes(good[:len(good) // 3])
(d/'corrupt.weights.h5').write_bytes(b'\\x89HDF\\r\\n\\x1a\\n' + bytes(1000))
(d/'otherarch.json').write_text(json.dumps({{'architecture': model_config('tiny')}}))
'''
    subprocess.run([sys.executable, '-c', code], check=True, cwd=ROOT, timeout=300, capture_output=True)
    from PIL import Image
    Image.fromarray((np.random.default_rng(0).random((20, 24, 3)) * 60).astype(np.uint8)).save(d/'in.png')
    return d


@pytest.mark.parametrize('name, says', [
    ('corrupt.keras', 'not a valid .keras file'),
    ('lambda.keras', 'refused: it holds a Lambda layer'),
    ('badjson.weights.h5', 'badjson.json: not valid JSON'),
    ('nokey.weights.h5', 'nokey.json: no "architecture" mapping'),
    ('truncated.weights.h5', 'truncated or corrupt'),
    ('corrupt.weights.h5', 'not a readable Keras weights file'),
    ('otherarch.weights.h5', 'weights are for fast (n_feat 16, n_rrg 1, n_msrb 2, height 3, width 2, unshuffle 2), the model is tiny (n_feat 16'),
])
def test_bad_weights_one_error_line(hostile_weights, tmp_path, name, says):
    "Issue 25 item 4: `llie enhance --weights BAD` prints one `llie: error:` line naming the file, exit code 2."
    d = hostile_weights
    r = subprocess.run([sys.executable, '-m', 'llie.cli', 'enhance', str(d/'in.png'), '-o', str(tmp_path/'out'), '--weights', str(d/name),
                        '--no-progress'], capture_output=True, text=True, cwd=ROOT, timeout=300)
    errs = [l for l in r.stderr.splitlines() if l.startswith('llie: error:')]
    assert r.returncode == 2, r.stderr[-2000:]
    assert len(errs) == 1 and 'Traceback' not in r.stderr, r.stderr[-2000:]
    assert str(d/name.split('.')[0]) in errs[0] and says in errs[0], errs[0]
    assert len(errs[0]) < 400
    assert not (tmp_path/'out').exists() or not any((tmp_path/'out').iterdir())


def test_quiet_start_enhance(tmp_path):
    "Issue 24 item 4: `llie enhance` on a machine without a GPU prints no CUDA/absl/oneDNN line (TF_CPP_MIN_LOG_LEVEL unset)."
    from PIL import Image
    Image.fromarray((np.random.default_rng(1).random((20, 24, 3)) * 60).astype(np.uint8)).save(tmp_path/'in.png')
    env = {k: v for k, v in os.environ.items() if k not in ('TF_CPP_MIN_LOG_LEVEL', 'LLIE_QUIET')}
    r = subprocess.run([sys.executable, '-m', 'llie.cli', 'enhance', str(tmp_path/'in.png'), '-o', str(tmp_path/'out'), '--no-progress'],
                       capture_output=True, text=True, cwd=ROOT, timeout=300, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert (tmp_path/'out'/'in.png').exists()
    from llie.core import gpu_device_node
    noise = re.compile(r'absl|oneDNN' if gpu_device_node() else r'cuda|absl|oneDNN|cuInit', re.I)
    assert [l for l in r.stderr.splitlines() if noise.search(l)] == []


@pytest.mark.slow
def test_smoke_report_has_no_test_cells(tmp_path):
    "Issue 24 item 2: the executed notebooks of a real smoke run hold no cell tagged `test`, and nothing noisy on stderr."
    import nbformat
    env = {k: v for k, v in os.environ.items() if k not in ('TF_CPP_MIN_LOG_LEVEL', 'LLIE_QUIET')}
    r = subprocess.run([sys.executable, '-m', 'llie.pipeline', '--profile', 'smoke', '--run-name', 'notests', '--reports', str(tmp_path)],
                       capture_output=True, text=True, cwd=ROOT, timeout=1800, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    nbs = sorted((tmp_path/'notests').glob('*.ipynb'))
    assert [p.stem for p in nbs] == ['01_data', '02_model', '04_train', '06_evaluate', '07_visualize']
    for p in nbs:
        nb = nbformat.read(str(p), as_version=4)
        assert [c.source[:60] for c in nb.cells if 'test' in c.metadata.get('tags', [])] == [], p.name
    from llie.core import gpu_device_node
    if not gpu_device_node(): assert [l for l in r.stderr.splitlines() if re.search(r'cuInit|absl::InitializeLog', l)] == []


@pytest.mark.parametrize('setting', ['default', 'system'])
def test_training_kernel_allocator(tmp_path, monkeypatch, setting):
    """The training stage's kernel preloads tcmalloc where the machine has it (CPU training ~1.9x faster); the other stages
    never do (torch's LPIPS aborts under it); LLIE_ALLOCATOR=system turns it off."""
    import llie.pipeline as P
    from llie.core import tcmalloc_library
    nbs = tmp_path/'nbs'; nbs.mkdir()
    params = ('run_dir = None\nseed = 0\n', ['parameters'])
    probe = ('from pathlib import Path\nfrom llie.core import allocator_in_use\n'
             'Path(run_dir, f"allocator-{STAGE}.txt").write_text(allocator_in_use())')
    for s in P.STAGES: _nb(nbs/f'{s}.ipynb', [params, (f'STAGE = "{s}"\n' + probe, None)])
    monkeypatch.setattr(P, 'nbs_dir', lambda: nbs)
    monkeypatch.delenv('LD_PRELOAD', raising=False)
    if setting == 'system': monkeypatch.setenv('LLIE_ALLOCATOR', 'system')
    else: monkeypatch.delenv('LLIE_ALLOCATOR', raising=False)
    (tmp_path/'tiny.yaml').write_text('description: stand-in stages\nseed: 0\n')
    run = P.run_pipeline(str(tmp_path/'tiny.yaml'), run_name='r', reports=tmp_path/'reports', stages=['02_model', '04_train', '06_evaluate'],
                         progress=False)
    want = 'tcmalloc' if setting == 'default' and tcmalloc_library() else 'system'
    assert (run/'allocator-04_train.txt').read_text() == want
    assert (run/'allocator-02_model.txt').read_text() == 'system' and (run/'allocator-06_evaluate.txt').read_text() == 'system'
    assert 'LD_PRELOAD' not in os.environ   # the parent's environment is restored
