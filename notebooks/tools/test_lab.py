"""A real-browser test of JupyterLab, the way a researcher meets the project.

Starts JupyterLab as `make lab` does (notebooks/tools/lab.py: headless here, a
free port, a token, the project's GoNB kernel from .venv), drives Debian's
Chromium with Playwright (no browser download), opens 00_theory.ipynb, runs all
cells, checks that the figures appear and no cell shows an error, moves a
what-if slider and checks that the figure changes. Screenshots of every step go
to $SGDESCAPE_LAB_SHOTS (default .tools/test-reports/lab/). The server and its
kernels are stopped by PID at the end, pass or fail.

`make test` runs this file through `make test-lab`.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import socket
import sys
import tempfile
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import lab  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
SHOTS = Path(os.environ.get("SGDESCAPE_LAB_SHOTS", ROOT / ".tools" / "test-reports" / "lab"))
CHROMIUM = os.environ.get("SGDESCAPE_CHROMIUM", "/usr/bin/chromium")
RUN_ALL_TIMEOUT_S = 420  # ten cells, each compiled (1–15 s) and run, on two busy cores


def playwright_or_fail():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright for Python is not installed: `make setup` installs requirements-dev.txt into .venv")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: install Debian's chromium (apt-get install chromium); `make setup` does this as root")
    return sync_playwright


@pytest.fixture(scope="module")
def server():
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("*.png"):
        old.unlink()
    settings = Path(tempfile.mkdtemp(prefix="lab-settings-"))
    # A fresh user-settings and workspace folder: the test never depends on (or
    # changes) the user's JupyterLab state, and autosave is off so that running the
    # notebook does not write outputs into the repository's notebooks.
    docmanager = settings / "@jupyterlab" / "docmanager-extension"
    docmanager.mkdir(parents=True)
    (docmanager / "plugin.jupyterlab-settings").write_text('{"autosave": false}')
    try:
        srv = lab.start(NOTEBOOKS, SHOTS / "jupyterlab.log", extra_env={
            "JUPYTERLAB_SETTINGS_DIR": str(settings), "JUPYTERLAB_WORKSPACES_DIR": str(settings / "workspaces"),
            "SGDESCAPE_WHATIF_MINUTES": "5"})
    except lab.LabError as e:
        pytest.fail(str(e))
    try:
        yield srv
    finally:
        leftovers = srv.stop()
        shutil.rmtree(settings, ignore_errors=True)
        assert srv.proc.poll() is not None, f"JupyterLab (PID {srv.proc.pid}) is still running"
        if leftovers:
            print(f"killed processes left behind by JupyterLab: {leftovers}")


def shot(page, name: str):
    page.screenshot(path=str(SHOTS / name))


def code_cells(page):
    return page.locator(".jp-NotebookPanel:visible .jp-CodeCell")


def test_theory_notebook_runs_and_slider_redraws(server):
    sync_playwright = playwright_or_fail()
    before = (NOTEBOOKS / "00_theory.ipynb").read_bytes()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{server.url}/lab/tree/00_theory.ipynb?token={server.token}")
            page.locator(".jp-NotebookPanel:visible .jp-Notebook").wait_for(timeout=120_000)
            # The kernel named in the notebook (gonb) starts without a kernel-selection dialog.
            page.locator(".jp-NotebookPanel:visible .jp-Toolbar-kernelName", has_text="Go").wait_for(timeout=60_000)
            assert page.locator(".jp-Dialog").count() == 0, "a dialog appeared on opening the notebook: " + page.locator(".jp-Dialog").inner_text()
            assert page.locator(".jp-toast-container .Toastify__toast").count() == 0, \
                "a pop-up (news, update check) appeared: " + page.locator(".jp-toast-container").inner_text()
            # Run All only once the page holds a connection to the kernel: cells sent
            # earlier can be lost (GoNB reports no status until the first execution,
            # so the status bar says "Unknown" until then).
            deadline = time.monotonic() + 120
            while not any(k.get("connections", 0) > 0 for k in server.api("/api/kernels") or []):
                if time.monotonic() > deadline:
                    shot(page, "01_no_kernel.png")
                    pytest.fail("the page did not connect to a GoNB kernel within 120 s; see jupyterlab.log")
                page.wait_for_timeout(500)
            page.wait_for_timeout(2000)
            shot(page, "01_opened.png")

            first_prompt = code_cells(page).first.locator(".jp-InputPrompt")
            for attempt in range(3):
                page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
                page.locator(".lm-Menu-itemLabel:visible", has_text="Run All Cells").first.click()
                try:  # the first cell is queued or done within seconds when the kernel took the request
                    page.wait_for_function("el => /[*0-9]/.test(el.textContent)", arg=first_prompt.element_handle(), timeout=20_000)
                    break
                except Exception:
                    print(f"Run All attempt {attempt + 1}: the first cell did not start; retrying")
            else:
                shot(page, "02_not_started.png")
                pytest.fail("Run All Cells did not start the first cell in three attempts")
            cells = code_cells(page)
            n = cells.count()
            assert n >= 5, f"only {n} code cells in 00_theory"
            # Every cell before the what-if cell finishes; the what-if cell (last)
            # stays live, showing its sliders and its first figure.
            whatif = cells.nth(n - 1)
            slider = whatif.locator(".sgdescape-whatif-row input[type=range]").first
            figure = whatif.locator(".sgdescape-whatif-out img").first
            deadline = time.monotonic() + RUN_ALL_TIMEOUT_S
            while time.monotonic() < deadline:
                if slider.count() and figure.count():
                    break
                errors = page.locator(".jp-NotebookPanel:visible [data-mime-type='application/vnd.jupyter.error']")
                if errors.count():
                    shot(page, "02_error.png")
                    pytest.fail("a cell shows an error: " + errors.first.inner_text()[:500])
                page.wait_for_timeout(1000)
            else:
                shot(page, "02_timeout.png")
                pytest.fail(f"the what-if sliders did not appear within {RUN_ALL_TIMEOUT_S} s of Run All")
            slider.scroll_into_view_if_needed()
            page.wait_for_timeout(500)
            shot(page, "02_ran_all.png")

            prompts = [cells.nth(i).locator(".jp-InputPrompt").text_content().strip() for i in range(n - 1)]
            unrun = [i + 1 for i, s in enumerate(prompts) if not any(ch.isdigit() for ch in s)]
            assert not unrun, f"code cells {unrun} did not finish (prompts {prompts})"
            stderr = page.locator(".jp-NotebookPanel:visible [data-mime-type='application/vnd.jupyter.stderr']")
            bad = [t for t in stderr.all_text_contents() if any(k in t for k in ("panic:", "exit status", "error:"))]
            assert not bad, f"a cell reported an error on stderr: {bad[0][:500]}"
            assert page.locator(".jp-NotebookPanel:visible [data-mime-type='application/vnd.jupyter.error']").count() == 0
            images = page.locator(".jp-NotebookPanel:visible .jp-OutputArea-output img")
            assert images.count() >= 6, f"expected the notebook's figures, found {images.count()} images"
            for i in range(images.count()):
                w = images.nth(i).evaluate("img => img.naturalWidth")
                assert w > 100, f"figure {i + 1} did not load (natural width {w})"

            label = whatif.locator(".sgdescape-whatif-row code").first
            before_src, before_label = figure.get_attribute("src"), label.inner_text()
            # Drag the B/η slider with the mouse, as a reader would, to 80 % of its track.
            slider.scroll_into_view_if_needed()
            box = slider.bounding_box()
            y = box["y"] + box["height"] / 2
            page.mouse.move(box["x"] + 0.35 * box["width"], y)
            page.mouse.down()
            page.mouse.move(box["x"] + 0.8 * box["width"], y, steps=8)
            page.mouse.up()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and figure.get_attribute("src") == before_src:
                page.wait_for_timeout(250)
            slider.scroll_into_view_if_needed()
            page.wait_for_timeout(500)
            shot(page, "03_slider_moved.png")
            assert figure.get_attribute("src") != before_src, "moving the B/η slider did not redraw the figure"
            assert label.inner_text() != before_label, f"the slider's value label still reads {before_label}"
            # The first-run nags (Jupyter news, update check) are off in the project's settings:
            # by now, minutes after start-up, they would have shown up.
            toasts = [t for t in page.locator(".Toastify__toast").all_text_contents()
                      if any(w in t.lower() for w in ("news", "update", "upgrade"))]
            assert not toasts, f"JupyterLab showed a nag: {toasts[0][:200]}"
        finally:
            browser.close()
    assert (NOTEBOOKS / "00_theory.ipynb").read_bytes() == before, "running the notebook in JupyterLab changed 00_theory.ipynb"


# ------------------------------------------------------------ start-up failures

def test_port_taken_is_reported(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(lab.LabError, match=f"port {port} is taken"):
            lab.start(NOTEBOOKS, tmp_path / "lab.log", port=port)


def test_missing_kernel_is_reported(tmp_path):
    with pytest.raises(lab.LabError, match="kernel 'no-such-kernel' is missing"):
        lab.start(NOTEBOOKS, tmp_path / "lab.log", kernel="no-such-kernel")


def test_allow_root_only_for_root(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert "--allow-root" in lab.command(8888, None, False, NOTEBOOKS)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert "--allow-root" not in lab.command(8888, None, False, NOTEBOOKS)


def test_bad_port_is_reported(tmp_path):
    for port in (-1, 70000):
        with pytest.raises(lab.LabError, match="not a TCP port"):
            lab.start(NOTEBOOKS, tmp_path / "lab.log", port=port)
    proc = subprocess.run([sys.executable, lab.__file__, "--port", "-5", "--no-browser"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "not a TCP port" in proc.stderr and "Traceback" not in proc.stderr
