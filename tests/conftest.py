"""Pytest configuration for llie's tests: the `slow` marker. Slow tests (minutes of CPU) are skipped unless pytest
gets `--runslow` (or `-m slow`)."""
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
