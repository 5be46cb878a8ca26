"""LPIPS must work whatever the import order of TensorFlow and torch.

With triton installed (pulled in by the CUDA build of torch), loading triton's `libtriton.so` after
TensorFlow segfaults: TensorFlow's libraries, loaded RTLD_GLOBAL, export their own LLVM/MLIR, and
libtriton's LLVM references bind to them. `llie.metrics.prepare_torch_import` (called by
`lpips_distance` before it imports torch) preloads libtriton with RTLD_DEEPBIND. Each case runs in a
fresh interpreter, because a segfault would kill the test process and import order is process-wide.
"""
import os, sys, subprocess, textwrap, importlib.util
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
REF = Path(os.environ.get('LLIE_SHARED', ROOT.parent/'shared'))/'lpips-reference'
needs_ref = pytest.mark.skipif(not (REF/'ex_ref.png').exists(), reason=f'{REF} not available')

LPIPS_TAIL = '''
REF = {ref!r}
import numpy as np
from PIL import Image
from llie.metrics import lpips_distance
load = lambda n: np.asarray(Image.open(REF + '/' + n + '.png').convert('RGB'), dtype=np.float32) / 255.
print('LPIPS=%.6f' % lpips_distance(load('ex_ref'), load('ex_p0')))
'''

def _run(code, tmp_path, timeout=600):
    "Run `code` in a fresh interpreter with an empty TORCH_HOME; return (returncode, output)."
    env = {**os.environ, 'TORCH_HOME': str(tmp_path/'torch_home'), 'TF_CPP_MIN_LOG_LEVEL': '2',
           'PYTHONFAULTHANDLER': '1'}
    env.pop('LLIE_NO_TRITON_PRELOAD', None)
    (tmp_path/'torch_home').mkdir(exist_ok=True)
    p = subprocess.run([sys.executable, '-c', textwrap.dedent(code)], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr

def _lpips_value(out):
    lines = [l for l in out.splitlines() if l.startswith('LPIPS=')]
    assert lines, out[-3000:]
    return float(lines[-1].split('=')[1])

@needs_ref
@pytest.mark.parametrize('first', ['import tensorflow', 'import torch; import tensorflow'],
                         ids=['tensorflow-first', 'torch-first'])
def test_lpips_after_imports(first, tmp_path):
    rc, out = _run(first + '\n' + LPIPS_TAIL.format(ref=str(REF)), tmp_path)
    assert rc == 0, f'exit code {rc}:\n{out[-3000:]}'
    assert round(_lpips_value(out), 3) == 0.722
    assert not any((tmp_path/'torch_home').iterdir()), 'something was downloaded into TORCH_HOME'

@pytest.mark.skipif(importlib.util.find_spec('triton') is None, reason='triton not installed')
def test_prepare_torch_import_guards_user_imports(tmp_path):
    "After `prepare_torch_import()`, user code may import torchvision / triton after TensorFlow."
    code = '''
    import tensorflow
    from llie.metrics import prepare_torch_import
    assert prepare_torch_import() is True
    assert prepare_torch_import() is False   # only once
    import torch, torchvision, triton
    from triton._C.libtriton import ir
    ctx = ir.context(); ir.load_dialects(ctx)   # triton's own MLIR still works
    print('OK')
    '''
    rc, out = _run(code, tmp_path)
    assert rc == 0 and 'OK' in out, f'exit code {rc}:\n{out[-3000:]}'

@pytest.mark.skipif(importlib.util.find_spec('triton') is None, reason='triton not installed')
def test_problem_reproduces_without_the_fix(tmp_path):
    "Control: without the preload, TensorFlow then triton crashes (skipped if this environment no longer has the bug)."
    rc, out = _run('import tensorflow\nimport triton\nprint("OK")', tmp_path)
    if rc == 0: pytest.skip('importing triton after tensorflow does not crash here; the preload is not needed')
    assert rc == -11 or 'Segmentation fault' in out, f'unexpected failure, exit code {rc}:\n{out[-3000:]}'
