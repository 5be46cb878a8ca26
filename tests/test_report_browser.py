"""The report page (`llie.report.write_index`) in a real headless browser (Debian's chromium), offline: every figure
loads, nothing is fetched from the network, and a screenshot shows the page with its figures.

`make browser` (a step of `make test`) installs chromium; without it these tests are skipped, saying so."""
import os, re, shutil, subprocess
from pathlib import Path
import numpy as np
import pytest
from PIL import Image

from llie.report import demo_run, write_index, external_urls, DEMO_COLOUR
from llie.core import repo_root

CHROMIUM = os.environ.get('LLIE_CHROMIUM') or shutil.which('chromium') or shutil.which('chromium-browser')
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason='chromium is not installed: `make browser` installs it (apt-get install chromium, as root)')

# offline: no network service, and a dead proxy and resolver for anything that would still try
FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', '--disable-extensions', '--mute-audio',
         '--proxy-server=http://127.0.0.1:9', '--host-resolver-rules=MAP * ~NOTFOUND', '--hide-scrollbars']

# set on <html> once the page has loaded: images in the page, images decoded with a size, resources fetched over the network
PROBE = """<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0 && i.naturalHeight > 0; }).length;
  var net = performance.getEntriesByType('resource').map(function (e) { return e.name; })
                     .filter(function (n) { return !/^(data|file|blob|about):/.test(n); });
  var h = document.documentElement;
  h.setAttribute('data-llie-images', imgs.length); h.setAttribute('data-llie-loaded', ok);
  h.setAttribute('data-llie-network', net.join(' ')); h.setAttribute('data-llie-done', 'yes');
});
</script>"""


def chromium(*args, tmp: Path, timeout: int = 180) -> subprocess.CompletedProcess:
    "Run headless chromium with its own profile folder under `tmp`."
    prof = tmp/'chromium-profile'; prof.mkdir(exist_ok=True)
    return subprocess.run([CHROMIUM, *FLAGS, f'--user-data-dir={prof}', *args], capture_output=True, text=True, timeout=timeout)


def probe_page(page: Path, tmp: Path) -> dict:
    "Load a copy of `page` with the probe script added; return the probe's attributes from the dumped DOM."
    text = page.read_text()
    assert '</body>' in text, f'{page}: no </body>'
    probed = tmp/f'probed-{page.name}'
    probed.write_text(text.replace('</body>', PROBE + '\n</body>', 1))
    r = chromium('--virtual-time-budget=15000', '--dump-dom', probed.as_uri(), tmp=tmp)
    assert r.returncode == 0, r.stderr[-2000:]
    m = re.search(r'<html\b[^>]*>', r.stdout)
    assert m, f'no <html> in the dumped DOM: {r.stdout[:500]!r} {r.stderr[-1000:]}'
    attrs = dict(re.findall(r'data-llie-([a-z]+)="([^"]*)"', m.group(0)))
    assert attrs.get('done') == 'yes', f'the load event did not run the probe: {m.group(0)} {r.stderr[-1000:]}'
    return dict(images=int(attrs['images']), loaded=int(attrs['loaded']), network=attrs['network'].split(), dom=r.stdout)


@pytest.fixture(scope='module')
def demo_page(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('report')
    return write_index(demo_run(tmp/'demo')), tmp


def test_demo_report_loads_offline_with_every_figure(demo_page):
    page, tmp = demo_page
    html = page.read_text()
    assert external_urls(html) == []
    n_img = len(re.findall(r'<img\b', html))
    assert n_img == 5  # four PNG outputs and the markdown image the demo run's notebooks hold
    p = probe_page(page, tmp)
    assert p['images'] == n_img, p
    assert p['loaded'] == n_img, f"{n_img - p['loaded']} of {n_img} images did not load"
    assert p['network'] == [], f"the page fetched from the network: {p['network']}"
    # the browser built the page: summary first, stages in pipeline order, code folded
    dom = p['dom']
    pos = [dom.index(x) for x in ['llie report: demo', 'Test metrics', 'id="stage-01_data"', 'id="stage-04_train"', 'id="stage-07_visualize"']]
    assert pos == sorted(pos)
    assert dom.count('<details class="llie-code">') == 5


def test_demo_report_screenshot_shows_the_page_and_its_figures(demo_page):
    page, tmp = demo_page
    shot = tmp/'shot.png'
    r = chromium('--window-size=1200,2400', f'--screenshot={shot}', '--virtual-time-budget=15000', page.as_uri(), tmp=tmp)
    assert r.returncode == 0 and shot.is_file(), r.stderr[-2000:]
    a = np.asarray(Image.open(shot).convert('RGB')).astype(int)
    assert a.shape == (2400, 1200, 3)
    grey = a.mean(axis=2)
    assert grey.std() > 10, 'the screenshot is blank'
    assert (grey < 128).mean() > 0.005, 'the screenshot has almost no dark pixels (no text)'
    # the demo figures are magenta blocks: the first ones (240x160 in 01_data, 200x120 in 04_train) lie in the first 2400 px
    magenta = (np.abs(a - np.array(DEMO_COLOUR)).max(axis=2) < 40).sum()
    assert magenta > 0.5 * 240 * 140, f'the figures are not in the screenshot: {magenta} magenta pixels'


# a real run folder of the repository, if one is committed (the shipped model's report): real outputs, real figure sizes
REAL = [p for p in sorted((repo_root()/'reports').glob('*')) if (p/'metrics.json').is_file() and (p/'04_train.ipynb').is_file()][:1]


@pytest.mark.parametrize('run_dir', REAL, ids=[p.name for p in REAL])
def test_real_report_loads_offline(run_dir, tmp_path):
    page = write_index(run_dir, tmp_path/'index.html')
    html = page.read_text()
    assert external_urls(html) == []
    n_img = len(re.findall(r'<img\b', html))
    assert n_img > 0
    p = probe_page(page, tmp_path)
    assert (p['images'], p['loaded'], p['network']) == (n_img, n_img, [])
