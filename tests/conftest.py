"""Pytest configuration for llie's tests: the `slow` marker. Slow tests (minutes of CPU) are skipped unless pytest
gets `--runslow` (or `-m slow`)."""
import os, sys, subprocess
import pytest


def pytest_addoption(parser):
    parser.addoption('--runslow', action='store_true', default=False, help='also run the tests marked slow')


def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: takes minutes of CPU (several TensorFlow training processes); run with --runslow')


def pytest_collection_modifyitems(config, items):
    if config.getoption('--runslow') or config.option.markexpr.strip() == 'slow': return
    skip = pytest.mark.skip(reason='slow: run with --runslow')
    for item in items:
        if 'slow' in item.keywords: item.add_marker(skip)


@pytest.fixture(scope='session')
def weights(tmp_path_factory):
    "A randomly initialised nano MIRNet saved with `llie.model.save_model` (never the shipped weights), for CLI tests."
    d = tmp_path_factory.mktemp('weights')
    code = ('import keras; from llie.model import build_mirnet, save_model; keras.utils.set_random_seed(0); '
            f'save_model(build_mirnet("nano"), {str(d / "nano.weights.h5")!r})')
    subprocess.run([sys.executable, '-c', code], check=True, capture_output=True, timeout=300,
                   env={**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '3'})
    return d/'nano.weights.h5'
