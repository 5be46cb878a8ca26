"Bad-input tests for llie.data: every error names the file and the problem, and the input folder is left untouched."
import zipfile
from pathlib import Path
import numpy as np
import pytest
from PIL import ImageFile
from llie.core import LLIEError
from llie.data import (ImageError, find_pairs, find_dataset, get_splits, validate_pairs, read_image, write_image,
                       train_dataset, extract_zip)


def snapshot(d: Path) -> dict:
    "Every file and folder under `d` with its size and modification time."
    return {str(p.relative_to(d)): (p.stat().st_size if p.is_file() else -1, p.stat().st_mtime_ns) for p in sorted(d.rglob('*'))}


def make_pairs(d: Path, names=('a', 'b'), size=(20, 20)) -> Path:
    rng = np.random.default_rng(0)
    for n in names:
        write_image(d / 'low' / f'{n}.png', rng.random((*size, 3)) * 0.2)
        write_image(d / 'high' / f'{n}.png', rng.random((*size, 3)))
    return d


@pytest.fixture
def ds(tmp_path):
    return make_pairs(tmp_path / 'ds')


def fails(fn, *needles):
    "Call `fn`, expect an LLIEError whose message contains every needle; return the message."
    with pytest.raises(LLIEError) as e: fn()
    msg = str(e.value)
    for n in needles: assert n in msg, f'{n!r} not in error message: {msg}'
    return msg


def test_truncation_is_never_tolerated():
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_low_without_high(ds):
    (ds / 'high' / 'b.png').unlink(); before = snapshot(ds)
    fails(lambda: find_pairs(ds), str(ds / 'low' / 'b.png'), 'without a twin in high/')
    fails(lambda: get_splits(ds), 'b.png', 'unpaired')
    assert snapshot(ds) == before


def test_high_without_low(ds):
    (ds / 'low' / 'a.png').unlink(); before = snapshot(ds)
    fails(lambda: find_pairs(ds), str(ds / 'high' / 'a.png'), 'without a twin in low/')
    assert snapshot(ds) == before


def test_pair_of_different_sizes(ds):
    write_image(ds / 'high' / 'b.png', np.zeros((20, 24, 3))); before = snapshot(ds)
    pairs = find_pairs(ds)
    fails(lambda: validate_pairs(pairs), str(ds / 'low' / 'b.png'), 'differs from its ground truth', str(ds / 'high' / 'b.png'))
    fails(lambda: train_dataset(pairs, 8, 2), 'b.png', 'differs')
    assert snapshot(ds) == before


@pytest.mark.parametrize('suffix', ['.png', '.jpg', '.tif', '.bmp'])
def test_truncated_file(tmp_path, suffix):
    d = tmp_path / 'ds'; (d / 'low').mkdir(parents=True); (d / 'high').mkdir()
    img = np.random.default_rng(1).random((32, 32, 3))
    write_image(d / 'high' / f'x{suffix}', img); write_image(d / 'low' / f'x{suffix}', img * 0.1)
    raw = (d / 'low' / f'x{suffix}').read_bytes(); (d / 'low' / f'x{suffix}').write_bytes(raw[:len(raw) // 2])
    before = snapshot(d)
    fails(lambda: read_image(d / 'low' / f'x{suffix}'), f'x{suffix}', 'truncated')
    fails(lambda: validate_pairs(find_pairs(d)), str(d / 'low' / f'x{suffix}'), 'truncated')
    assert snapshot(d) == before


def test_non_image_with_png_suffix(ds):
    (ds / 'low' / 'a.png').write_text('this is not a PNG'); before = snapshot(ds)
    fails(lambda: read_image(ds / 'low' / 'a.png'), 'a.png', 'not an image')
    fails(lambda: validate_pairs(find_pairs(ds)), str(ds / 'low' / 'a.png'), 'not an image')
    assert snapshot(ds) == before


def test_empty_file(ds):
    (ds / 'high' / 'a.png').write_bytes(b''); before = snapshot(ds)
    fails(lambda: validate_pairs(find_pairs(ds)), str(ds / 'high' / 'a.png'), 'empty file')
    assert snapshot(ds) == before


def test_every_problem_reported_at_once(ds):
    (ds / 'low' / 'a.png').write_text('junk'); (ds / 'high' / 'b.png').write_bytes(b'')
    msg = fails(lambda: validate_pairs(find_pairs(ds)), '2 problem(s)', 'a.png', 'b.png')
    assert 'not an image' in msg and 'empty file' in msg


def test_empty_folders(tmp_path):
    d = tmp_path / 'empty'; d.mkdir(); before = snapshot(tmp_path)
    fails(lambda: find_dataset(d), str(d), 'no paired dataset found')
    fails(lambda: find_pairs(d), str(d), 'missing low/, high/')
    fails(lambda: find_dataset(tmp_path / 'nowhere'), 'nowhere', 'not found')
    assert snapshot(tmp_path) == before
    (d / 'low').mkdir(); (d / 'high').mkdir(); before = snapshot(tmp_path)
    fails(lambda: find_pairs(d), str(d), 'no images')
    fails(lambda: get_splits(d), str(d), 'no images')
    assert snapshot(tmp_path) == before


def test_image_smaller_than_crop(ds):
    write_image(ds / 'low' / 'c.png', np.zeros((12, 30, 3))); write_image(ds / 'high' / 'c.png', np.zeros((12, 30, 3)))
    before = snapshot(ds); pairs = find_pairs(ds)
    validate_pairs(pairs)  # fine without a crop
    fails(lambda: validate_pairs(pairs, crop_size=16), str(ds / 'low' / 'c.png'), '30x12 is smaller than the 16x16 training crop')
    fails(lambda: train_dataset(pairs, 16, 2), 'c.png', 'smaller than the 16x16')
    assert snapshot(ds) == before


@pytest.mark.parametrize('member', ['../x.png', 'general_dataset/../../x.png', '/tmp/abs.png'])
def test_zip_with_escaping_member(tmp_path, monkeypatch, member):
    cache = tmp_path / 'cache'; monkeypatch.setenv('LLIE_CACHE', str(cache))
    src = tmp_path / 'in'; src.mkdir(); zp = src / 'data.zip'
    with zipfile.ZipFile(zp, 'w') as z:
        z.writestr('general_dataset/train_val/low/1.png', b'x'); z.writestr(member, b'evil')
    before = snapshot(tmp_path)
    fails(lambda: extract_zip(zp), str(zp), repr(member), 'unsafe member')
    fails(lambda: get_splits(zp), repr(member))
    assert snapshot(tmp_path) == before                  # nothing extracted anywhere, nothing next to the zip
    assert not (tmp_path / 'x.png').exists()


def test_not_a_zip(tmp_path, monkeypatch):
    monkeypatch.setenv('LLIE_CACHE', str(tmp_path / 'cache'))
    zp = tmp_path / 'broken.zip'; zp.write_bytes(b'PK not really')
    fails(lambda: get_splits(zp), str(zp), 'not a valid zip')


def test_write_refuses_non_finite(tmp_path):
    with pytest.raises(ImageError, match='NaN or infinite'):
        write_image(tmp_path / 'x.png', np.full((4, 4, 3), np.inf))
    assert list(tmp_path.iterdir()) == []
