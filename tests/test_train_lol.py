"""The training issue's done-when check on real data: a short run on the shared LOL pairs, SIGKILLed in the middle
of an epoch and started again with the same command, continues from its last completed epoch with optimizer
state, learning rate and best-so-far intact, lists every epoch once, and ends like an uninterrupted run with the
same seed. Slow (two trainings on 600x400 validation images): `pytest --runslow tests/test_train_lol.py`; skipped
when the shared LOL folder is not there."""
import json, time
from pathlib import Path
import pytest
from llie.core import shared_dir
from test_train import Child, TIMEOUT, history, history_epochs, max_diff, state, summary, weights

pytestmark = pytest.mark.slow
LOL = shared_dir()/'datasets'/'LOL-v1'
EPOCHS, STEPS, KILL_AT = 5, 8, [2, 4]   # killed after batch 4 of epoch 2 (0-based): two epochs done
SETTINGS = dict(data=str(LOL), preset='nano', epochs=EPOCHS, steps_per_epoch=STEPS, batch_size=4, crop_size=96,
                lr=5e-4, lr_patience=1, lr_factor=0.5, seed=0, val_fraction=0.15, test_fraction=0.1,
                max_val_images=4, verbose=True)   # patience 1: the learning rate changes within the short run


@pytest.fixture(scope='module')
def lol_runs(tmp_path_factory):
    if not LOL.is_dir(): pytest.skip(f'{LOL} not found')
    d = tmp_path_factory.mktemp('lol')
    def run(name): return [{'run_dir': str(d/name), 'train': SETTINGS}]
    kids = {'ref': Child(d, 'ref', run('ref')), 'killed': Child(d, 'killed', run('killed'), pause_at=KILL_AT)}
    try:
        t0 = time.monotonic()
        while not kids['killed'].paused():
            if time.monotonic() - t0 > TIMEOUT: pytest.fail('the run to kill did not reach its pause point in time')
            time.sleep(0.5)
        kids['killed'].kill()
        before = state(d/'killed')
        kids['restart'] = Child(d, 'restart', run('killed'))   # the same command again
        kids['restart'].finish(); kids['ref'].finish()
        yield d, before
    finally:
        for k in kids.values():
            if k.p.poll() is None: k.p.kill(); k.p.wait()


def test_lol_sigkill_resume_matches_uninterrupted(lol_runs):
    d, before = lol_runs
    rd, ref = d/'killed', d/'ref'
    assert before['epochs'] == [0, 1] and before['epoch'] == 2 and before['iterations'] == 2 * STEPS
    assert summary(rd)['resumed_from_epoch'] == 2
    assert history_epochs(rd) == list(range(EPOCHS))               # every epoch exactly once
    h, r = history(rd), history(ref)
    # learning-rate schedule and optimizer state carried over: same learning rate every epoch as the uninterrupted run,
    # and at least one reduction happened (patience 1)
    assert [x['learning_rate'] for x in h] == pytest.approx([x['learning_rate'] for x in r], rel=1e-6)
    assert min(x['learning_rate'] for x in r) < SETTINGS['lr']
    assert state(rd)['iterations'] == EPOCHS * STEPS
    # best-so-far carried over: best.json names the same epoch as the uninterrupted run's
    assert json.loads((rd/'best.json').read_text())['epoch'] == json.loads((ref/'best.json').read_text())['epoch']
    dpsnr = h[-1]['val_psnr'] - r[-1]['val_psnr']
    print(f"\nLOL: resumed final val PSNR {h[-1]['val_psnr']:.3f} dB, uninterrupted {r[-1]['val_psnr']:.3f} dB ({dpsnr:+.4f}); "
          f"max |weight diff| {max_diff(weights(rd), weights(ref)):.2e}; lr {[x['learning_rate'] for x in h]}")
    assert abs(dpsnr) < 0.5
