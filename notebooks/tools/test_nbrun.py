"""Tests of the notebook runner (nbrun.py) and of the HTML reports.

The runner tests execute tiny GoNB notebooks, so they need the kernel that
`make setup` registers; `make test` runs them after executing the real
notebooks, whose scratch reports (SGDESCAPE_TEST_REPORTS) the report tests read.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import nbrun  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def make_nb(path: Path, *cells: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "gonb", "display_name": "Go (gonb)", "language": "go"}
    for src in cells:
        nb.cells.append(nbformat.v4.new_code_cell(src))
    nbformat.write(nb, path)
    return path


HEADLESS = 'import "os"\n%%\nfmt.Println("headless=" + os.Getenv("SGDESCAPE_HEADLESS"))'
WRITE_FIGURES = 'import "os"\n%%\nos.WriteFile(os.Getenv("SGDESCAPE_KEYFIGURES"), []byte(`{"provenance":{"scale":"quick"},"figures":{"x":1}}`), 0o644)'


@pytest.fixture(scope="module")
def runner_results():
    tmp = Path(tempfile.mkdtemp(prefix="nbrun-test-"))
    nbs = [
        make_nb(tmp / "10_good.ipynb", '%%\nfmt.Println("hello")', HEADLESS, WRITE_FIGURES),
        make_nb(tmp / "11_panic.ipynb", '%%\nfmt.Println("before")', '%%\npanic("boom")', '%%\nfmt.Println("never")'),
        make_nb(tmp / "12_exit.ipynb", 'import "os"\n%%\nos.Exit(3)', WRITE_FIGURES),
        make_nb(tmp / "13_compile.ipynb", '%%\nfmt.Println(notDefined)'),
        make_nb(tmp / "14_nofigures.ipynb", '%%\nfmt.Println("no key figures")'),
    ]
    out = tmp / "out"
    # A stale success from an earlier run must disappear when the notebook now fails.
    out.mkdir()
    (out / "11_panic.html").write_text("stale success")
    (out / "11_panic.json").write_text("{}")
    proc = subprocess.run([sys.executable, str(Path(nbrun.__file__)), "--out", str(out), *map(str, nbs)],
                          capture_output=True, text=True, timeout=600)
    yield proc, out
    shutil.rmtree(tmp, ignore_errors=True)


def test_runner_exits_nonzero_when_any_cell_fails(runner_results):
    proc, _ = runner_results
    assert proc.returncode == 1, proc.stdout + proc.stderr


def test_panic_names_notebook_and_cell_and_stops(runner_results):
    proc, out = runner_results
    assert "11_panic, cell 2" in proc.stderr
    assert "panic" in proc.stderr
    assert not (out / "11_panic.html").exists(), "a stale report still looks like success"
    assert not (out / "11_panic.json").exists()
    failed = (out / "failed" / "11_panic.html").read_text()
    assert "FAILED" in failed
    assert "<pre>before" in failed, "the cells before the failure should keep their outputs"
    assert "<pre>never" not in failed, "cells after a failing cell must not run"


def test_os_exit_is_a_failure(runner_results):
    proc, out = runner_results
    assert "12_exit, cell 1" in proc.stderr
    assert "exit status 3" in proc.stderr
    assert not (out / "12_exit.html").exists()


def test_compile_error_is_a_failure(runner_results):
    proc, _ = runner_results
    assert "13_compile, cell 1" in proc.stderr
    assert "notDefined" in proc.stderr


def test_missing_key_figures_is_a_failure(runner_results):
    proc, out = runner_results
    assert "14_nofigures" in proc.stderr and "key figures" in proc.stderr
    assert not (out / "14_nofigures.html").exists()


def test_good_notebook_writes_report_and_index(runner_results):
    _, out = runner_results
    assert (out / "10_good.html").exists()
    assert json.loads((out / "10_good.json").read_text())["figures"]["x"] == 1
    idx = json.loads((out / "index.json").read_text())
    status = {r["notebook"]: r["status"] for r in idx["notebooks"]}
    assert status == {"10_good.ipynb": "ok", "11_panic.ipynb": "failed", "12_exit.ipynb": "failed",
                      "13_compile.ipynb": "failed", "14_nofigures.ipynb": "failed"}
    assert "git_revision" in idx and "date" in idx
    page = (out / "index.html").read_text()
    assert "10_good.html" in page and "failed/11_panic.html" in page


def test_reports_fold_code_and_tell_cells_they_are_headless(runner_results):
    _, out = runner_results
    page = (out / "10_good.html").read_text()
    assert page.count('<details class="sg-code">') == 3, "every code cell must be folded in a <details> element"
    assert "<details class=\"sg-code\" open" not in page, "code must start folded"
    assert "headless=1" in page, "nbrun must set SGDESCAPE_HEADLESS so that what-if widgets draw static figures"
    assert 'href="index.html"' in page
    failed = (out / "failed" / "11_panic.html").read_text()
    assert '<details class="sg-code">' in failed and 'href="../index.html"' in failed


def test_no_index_prints_no_index_path(tmp_path):
    nb = make_nb(tmp_path / "20_only.ipynb", WRITE_FIGURES)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, str(Path(nbrun.__file__)), "--no-index", "--out", str(out), str(nb)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (out / "20_only.html").exists()
    assert not (out / "index.html").exists() and not (out / "index.json").exists()
    assert "index" not in proc.stdout.splitlines()[-1], f"--no-index still names an index: {proc.stdout.splitlines()[-1]}"
    assert 'href="index.html"' not in (out / "20_only.html").read_text(), "a report links to an index that was not written"


PNG_1x1 = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


def synthetic_executed_notebook():
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell("# 42 — A title\n\ntext"))
    c = nbformat.v4.new_code_cell("%%")
    c.outputs = [
        nbformat.v4.new_output("display_data", data={"image/png": PNG_1x1}),
        nbformat.v4.new_output("display_data", data={"text/html": "<table><caption><b>other table</b></caption></table>"}),
        nbformat.v4.new_output("display_data", data={"text/html":
            "<table><caption><b>ours vs theory vs paper</b></caption><thead><tr><th>quantity</th><th>ours</th><th>agree</th></tr></thead>"
            "<tbody><tr><td>φ</td><td>11</td><td>true</td></tr><tr><td>n_c</td><td>22</td><td>yes</td></tr>"
            "<tr><td>κ</td><td>3</td><td>no</td></tr></tbody></table>"}),
        nbformat.v4.new_output("display_data", data={"text/markdown": "**Verdict.** two of three rows agree."}),
        nbformat.v4.new_output("display_data", data={"text/markdown": "*Static figure at the default values: ...*"}),
    ]
    nb.cells.append(c)
    return nb


def test_index_summarises_each_notebook(tmp_path):
    sm = nbrun.summarize(synthetic_executed_notebook(), {}, tmp_path, "42_x")
    assert sm["title"] == "42 — A title"
    assert sm["thumbnail"] == "thumbs/42_x.png" and (tmp_path / "thumbs" / "42_x.png").read_bytes().startswith(b"\x89PNG")
    assert "ours vs theory vs paper" in sm["key_table"], "the comparison table (caption with 'vs') is the key table"
    assert sm["agreement"] == (2, 3)
    assert "<strong>Verdict.</strong>" in sm["verdict"] and "Static figure" not in sm["verdict"]
    rows = [{"notebook": "42_x.ipynb", "status": "ok", "reason": "", "wall_seconds": 12.3, "html": "42_x.html",
             "scale": "quick", "backend": "go", "summary": sm},
            {"notebook": "43_y.ipynb", "status": "failed", "reason": "43_y, cell 2: boom\nmore", "wall_seconds": 1,
             "html": "failed/43_y.html", "scale": "quick", "backend": "", "summary": {}}]
    nbrun.write_index(tmp_path, rows, "quick", ROOT, 13.3)
    page = (tmp_path / "index.html").read_text()
    for want in ('src="thumbs/42_x.png"', 'href="42_x.html"', "rows that agree: 2 of 3", "Verdict.", "ours vs theory vs paper",
                 "backend <code>go</code>", "wall time 12 s", "FAILED", "43_y, cell 2: boom", "1 of 2 notebooks failed"):
        assert want in page, f"index.html lacks {want!r}"
    assert '<script src="http' not in page and "://" not in page.split("<body>")[1].split("Reproduction")[0]
    idx = json.loads((tmp_path / "index.json").read_text())
    assert idx["notebooks"][0]["agreement"] == [2, 3] and idx["notebooks"][0]["thumbnail"] == "thumbs/42_x.png"


def test_failure_detection_on_synthetic_outputs():
    ok = {"outputs": [{"output_type": "stream", "name": "stderr", "text": "progress 10%\n"}]}
    assert nbrun.failure_in_outputs(ok) is None
    exit2 = {"outputs": [{"output_type": "stream", "name": "stderr", "text": "panic: x\n"},
                         {"output_type": "stream", "name": "stderr", "text": "exit status 2\n"}]}
    assert "exit status 2" in nbrun.failure_in_outputs(exit2)
    assert "panic: x" in nbrun.failure_in_outputs(exit2)
    err = {"outputs": [{"output_type": "error", "ename": "ERROR", "evalue": "undefined: y"}]}
    assert "undefined: y" in nbrun.failure_in_outputs(err)


# ------------------------------------------------------------ the real reports

def reports_dir() -> Path:
    d = os.environ.get("SGDESCAPE_TEST_REPORTS")
    if not d:
        pytest.skip("SGDESCAPE_TEST_REPORTS is not set: run through `make test`, which executes the notebooks first")
    return Path(d)


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    pytest.fail("no Chromium found: install it (Debian: apt-get install chromium); `make setup` does this as root")


def headless(*args: str, timeout=120) -> subprocess.CompletedProcess:
    profile = tempfile.mkdtemp(prefix="chromium-")
    try:
        return subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                               "--no-first-run", "--disable-background-networking", "--disable-component-update",
                               "--disable-sync", f"--user-data-dir={profile}", "--virtual-time-budget=20000", *args],
                              capture_output=True, text=True, timeout=timeout)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def test_reports_render_equations_offline():
    out = reports_dir()
    page = out / "00_theory.html"
    assert page.exists(), f"{page} was not produced"
    src = page.read_text()
    assert 'src="mathjax/MathJax.js' in src, "MathJax must be served from the local copy"
    assert '<script src="http' not in src, "a report loads a script from the network"
    assert (out / "mathjax" / "MathJax.js").exists()
    dom = headless("--dump-dom", page.resolve().as_uri()).stdout
    rendered = dom.count('class="MathJax_CHTML"') + dom.count("MathJax_CHTML ")
    frames = dom.count("-Frame")
    assert frames >= 10, f"MathJax typeset only {frames} expressions; equations are not rendered"
    assert "Math Processing Error" not in dom
    shot = out / "00_theory.png"
    headless("--window-size=1100,1400", f"--screenshot={shot}", page.resolve().as_uri())
    assert shot.exists() and shot.stat().st_size > 20_000, "screenshot missing or blank"
    assert rendered >= 0


def test_index_shows_every_notebook_at_a_glance():
    out = reports_dir()
    idx = json.loads((out / "index.json").read_text())
    page = (out / "index.html").read_text()
    for r in idx["notebooks"]:
        assert r["thumbnail"], f"{r['notebook']}: no main figure on the index"
        assert (out / r["thumbnail"]).exists()
        assert f'src="{r["thumbnail"]}"' in page and f'href="{r["html"]}"' in page
    shot = out / "index.png"
    headless("--window-size=1300,1800", f"--screenshot={shot}", (out / "index.html").resolve().as_uri())
    assert shot.exists()


def test_reports_show_results_with_code_folded():
    out = reports_dir()
    dom = headless("--dump-dom", (out / "00_theory.html").resolve().as_uri()).stdout
    assert dom.count('<details class="sg-code">') >= 5, "code cells are not folded"
    assert "<details class=\"sg-code\" open" not in dom
    assert dom.count("<img") >= 5, "the report's figures are missing"


def test_every_report_has_key_figures_with_provenance():
    out = reports_dir()
    idx = json.loads((out / "index.json").read_text())
    assert idx["notebooks"], "no notebooks ran"
    for r in idx["notebooks"]:
        assert r["status"] == "ok", r
        name = Path(r["notebook"]).stem
        kf = json.loads((out / f"{name}.json").read_text())
        for key in ("scale", "backend", "git_revision"):
            assert kf["provenance"].get(key), f"{name}.json lacks provenance.{key}"


def test_parallel_runs_keep_order_and_respect_after(tmp_path, monkeypatch):
    """Two at a time: rows come back in the order given, a notebook whose
    metadata says "after" starts only when that one has finished, and the
    others overlap (the scheduler itself, with the kernel run replaced)."""
    import time as _time
    log = tmp_path / "log"
    log.mkdir()

    def fake_run(args):
        path = args[0]
        (log / f"{path.stem}.start").write_text(repr(_time.time()))
        _time.sleep(0.6 if path.stem == "a" else 0.2)
        (log / f"{path.stem}.end").write_text(repr(_time.time()))
        return {"notebook": path.name, "status": "ok"}

    monkeypatch.setattr(nbrun, "_run_one", fake_run)  # forked workers inherit it
    a, b, c = (make_nb(tmp_path / f"{n}.ipynb", "%%\n") for n in "abc")
    nb = nbformat.read(b, as_version=4)
    nb.metadata["sgdescape"] = {"after": ["a"]}
    nbformat.write(nb, b)
    assert nbrun.notebook_after(b) == ["a"]
    rows = nbrun.run_all([a, b, c], tmp_path, "quick", 60, "gonb", jobs=2)
    assert [r["notebook"] for r in rows] == ["a.ipynb", "b.ipynb", "c.ipynb"]
    t = {p.name: float(p.read_text()) for p in log.iterdir()}
    assert t["b.start"] >= t["a.end"], "b must wait for a (its metadata says after a)"
    assert t["c.start"] < t["a.end"], "c must run beside a with two jobs"
    rows1 = nbrun.run_all([a, b, c], tmp_path, "quick", 60, "gonb", jobs=1)
    assert [r["notebook"] for r in rows1] == ["a.ipynb", "b.ipynb", "c.ipynb"]
    # A huge --jobs starts no more worker processes than there are notebooks.
    rows_big = nbrun.run_all([a, c], tmp_path, "quick", 60, "gonb", jobs=10**12)
    assert [r["notebook"] for r in rows_big] == ["a.ipynb", "c.ipynb"]
