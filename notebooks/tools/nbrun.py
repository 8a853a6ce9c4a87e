#!/usr/bin/env python3
"""Execute sgdescape's Go notebooks headless and export their HTML reports.

Used by `make report` (reports/) and `make test` (a scratch directory). For each
notebook it:

* runs every cell under the GoNB kernel with a per-cell timeout, from the
  notebooks/ directory, with SGDESCAPE_SCALE and SGDESCAPE_KEYFIGURES set, and
  SGDESCAPE_HEADLESS=1 (what-if widgets cannot run without a browser; with it
  pkg/notebook's WhatIf draws its default figure and says so);
* fails the notebook when a cell fails -- including a Go panic or os.Exit,
  which GoNB reports only as "exit status N" on stderr while nbclient itself
  carries on -- naming the notebook, the cell number and the cell's first line;
* on success writes <out>/<name>.html (JupyterLab's look with every code cell
  folded into an expandable <details>, so figures and tables come first; plots
  embedded; MathJax served from <out>/mathjax; nothing loaded from the network)
  and checks that the notebook wrote <out>/<name>.json;
* on failure removes any earlier <out>/<name>.html/.json, so that nothing
  stale looks like success, and writes <out>/failed/<name>.html instead;
* writes <out>/index.html and <out>/index.json, a one-page summary: per
  notebook a thumbnail of its main figure (<out>/thumbs/; the first figure, or
  the k-th when its key figures hold "main_figure": k), its "ours vs theory vs
  paper" table (the last table whose caption says "vs") with the count of rows
  that agree, its verdict (the last bold markdown it printed), status, scale,
  backend, wall time and a link; with --no-index neither is written nor named.

Exit status: 0 when every notebook succeeded, 1 otherwise, 2 on bad usage.
"""
from __future__ import annotations

import argparse
import datetime as dt
import html
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbconvert import HTMLExporter

EXIT_STATUS = re.compile(r"^exit status (\d+)\s*$", re.MULTILINE)
PANIC = re.compile(r"^(panic: |fatal error: )", re.MULTILINE)
HEADLESS_ENV = "SGDESCAPE_HEADLESS"  # pkg/notebook.HeadlessEnv
MATHJAX_URL = "mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe"


class CellFailure(Exception):
    """A cell failed; the message names the notebook, cell and reason."""


def first_line(src: str) -> str:
    for line in src.splitlines():
        if line.strip() and line.strip() != "%%":
            return line.strip()[:100]
    return "(empty cell)"


def failure_in_outputs(cell) -> str | None:
    """Return the reason a GoNB cell failed, or None when it succeeded.

    GoNB reports a Go panic or os.Exit only as text on stderr ("panic: ...",
    "exit status N"); nbclient sees a normal reply, so we look for both.
    """
    stderr = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return f"{out.get('ename', 'error')}: {out.get('evalue', '')}".strip()
        if out.get("output_type") == "stream" and out.get("name") == "stderr":
            stderr.append(out.get("text", ""))
    text = "".join(stderr)
    m = EXIT_STATUS.search(text)
    p = PANIC.search(text)
    panic_line = text[p.start():].splitlines()[0][:300] if p else ""
    if m and m.group(1) != "0":
        return f"the cell's Go program ended with exit status {m.group(1)}" + (f" ({panic_line})" if panic_line else "")
    if p:
        return f"the cell's Go program panicked: {panic_line}"
    return None


def stderr_tail(cell, n=15) -> str:
    lines = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stderr":
            lines += out.get("text", "").splitlines()
        if out.get("output_type") == "error":
            lines += [re.sub(r"\x1b\[[0-9;]*m", "", l) for l in out.get("traceback", [])]
    return "\n".join(lines[-n:])


class GoNBClient(NotebookClient):
    """NotebookClient that stops at the first failing GoNB cell and reports progress."""

    def __init__(self, nb, name: str, progress, kernel_log, **kw):
        super().__init__(nb, **kw)
        self.sg_log = kernel_log
        self.sg_name = name
        self.sg_progress = progress
        self.sg_ncode = sum(1 for c in nb.cells if c.cell_type == "code")
        self.sg_done = 0

    async def async_start_new_kernel(self, **kwargs):
        # The kernel's own log (compilation commands, klog lines) goes to a file, not the console.
        kwargs.setdefault("stderr", self.sg_log)
        kwargs.setdefault("stdout", self.sg_log)
        return await super().async_start_new_kernel(**kwargs)

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if cell.cell_type == "code":
            self.sg_progress(self.sg_name, self.sg_done + 1, self.sg_ncode, first_line(cell.source))
        try:
            cell = await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        except CellTimeoutError as e:
            raise CellFailure(f"{self.sg_name}, cell {cell_index + 1} ({first_line(cell.source)!r}): "
                              f"timed out after {self.timeout} s") from e
        except CellExecutionError as e:
            detail = [l for l in re.sub(r"\x1b\[[0-9;]*m", "", getattr(e, "evalue", "") or str(e)).splitlines() if l.strip()]
            raise CellFailure(f"{self.sg_name}, cell {cell_index + 1} ({first_line(cell.source)!r}): "
                              f"{getattr(e, 'ename', 'error')}: " + "\n".join(detail[:8])) from e
        if cell.cell_type == "code":
            self.sg_done += 1
            reason = failure_in_outputs(cell)
            if reason:
                tail = stderr_tail(cell)
                raise CellFailure(f"{self.sg_name}, cell {cell_index + 1} ({first_line(cell.source)!r}): {reason}"
                                  + (f"\n--- end of the cell's stderr ---\n{tail}" if tail else ""))
        return cell


def git_revision(root: Path) -> str:
    try:
        rev = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return rev + ("+dirty" if dirty else "")
    except Exception:
        return "unknown"


def write_atomic(path: Path, data: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-" + path.name)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


TEMPLATES = Path(__file__).resolve().parent / "templates"


def export_html(nb, title: str, banner: str | None = None, index: str | None = "index.html") -> str:
    """The HTML report of an executed notebook: JupyterLab's look, code cells folded
    (templates/sgdescape), MathJax from the local copy, no network access."""
    exporter = HTMLExporter(template_name="sgdescape", extra_template_basedirs=[str(TEMPLATES)])
    exporter.mathjax_url = MATHJAX_URL
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}, "sg_index": index})
    # Reports must work offline: our notebooks have no widgets, so require.js
    # (loaded from a CDN by the template) is dropped. Mermaid is only fetched
    # for mermaid diagrams, which the notebooks do not use.
    body = re.sub(r'<script src="https?://[^"]*require[^"]*"></script>', "", body)
    if banner:
        body = re.sub(r"(<body[^>]*>)", r"\1" + banner, body, count=1)
    return body


def notebook_title(nb, name: str) -> str:
    for c in nb.cells:
        if c.cell_type == "markdown":
            for line in c.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return name


AGREE_YES = {"true", "yes", "✓"}


def count_agreement(table_html: str) -> tuple[int, int] | None:
    """(rows that agree, rows) from the column headed "agree" of an HTML table, if any."""
    header = re.findall(r"<th[^>]*>(.*?)</th>", table_html, re.S)
    col = next((i for i, h in enumerate(header) if re.sub(r"<[^>]+>", "", h).strip().lower() == "agree"), None)
    if col is None:
        return None
    yes = total = 0
    for row in re.findall(r"<tr>(.*?)</tr>", table_html, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        if len(cells) > col:
            total += 1
            yes += re.sub(r"<[^>]+>", "", cells[col]).strip().lower() in AGREE_YES
    return (yes, total) if total else None


def summarize(nb, figures: dict, out: Path, name: str) -> dict:
    """What the index shows for one executed notebook: its title, a thumbnail of
    its main figure (the first figure, or key figure "main_figure": k), its
    "ours vs theory" table (the last table whose caption says "vs") with the
    agreement count of its "agree" column, and its verdict (the last bold
    markdown the notebook printed)."""
    import base64
    from nbconvert.filters import markdown2html
    images, tables, verdicts = [], [], []
    for c in nb.cells:
        for o in c.get("outputs", []):
            data = o.get("data", {})
            if "image/png" in data:
                images.append(data["image/png"])
            h = data.get("text/html")
            if h:
                h = "".join(h) if isinstance(h, list) else h
                images += re.findall(r'<img[^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"', h)  # notebook.Show
                tables += re.findall(r"<table.*?</table>", h, re.S)
            md = data.get("text/markdown")
            if md:
                md = "".join(md) if isinstance(md, list) else md
                if "**" in md and not md.lstrip().startswith("*Static figure"):
                    verdicts.append(md)
    summary = {"title": notebook_title(nb, name), "thumbnail": "", "key_table": "", "verdict": "", "agreement": None}
    k = figures.get("main_figure", 1) if isinstance(figures, dict) else 1
    if images:
        k = k if isinstance(k, int) and 1 <= k <= len(images) else 1
        thumb = out / "thumbs" / f"{name}.png"
        thumb.parent.mkdir(parents=True, exist_ok=True)
        thumb.write_bytes(base64.b64decode(images[k - 1]))
        summary["thumbnail"] = f"thumbs/{name}.png"
    vs = [t for t in tables if re.search(r"<caption.*?\bvs\b.*?</caption>", t, re.S | re.I)]
    if vs or tables:
        summary["key_table"] = (vs or tables)[-1]
        summary["agreement"] = count_agreement(summary["key_table"])
    if verdicts:
        summary["verdict"] = markdown2html(verdicts[-1])
    return summary


def progress_printer(index: int, total: int, start: float):
    def p(name, cell, ncells, line):
        el = time.monotonic() - start
        print(f"[{index}/{total}] {name}: cell {cell}/{ncells} ({el:5.0f} s) {line}", flush=True)
    return p


def run_notebook(path: Path, out: Path, scale: str, timeout: int, kernel: str, index: int, total: int,
                 with_index: bool = True) -> dict:
    name = path.stem
    html_path, json_path = out / f"{name}.html", out / f"{name}.json"
    failed_path = out / "failed" / f"{name}.html"
    for p in (html_path, json_path, failed_path):
        p.unlink(missing_ok=True)
    os.environ["SGDESCAPE_SCALE"] = scale
    os.environ["SGDESCAPE_KEYFIGURES"] = str(json_path.resolve())
    # GoNB widgets wait for a browser that a headless run does not have:
    # pkg/notebook's WhatIf sees this and draws its default figure instead.
    os.environ[HEADLESS_ENV] = "1"
    nb = nbformat.read(path, as_version=4)
    start = time.monotonic()
    (out / "logs").mkdir(parents=True, exist_ok=True)
    log = open(out / "logs" / f"{name}.kernel.log", "w")
    client = GoNBClient(nb, name, progress_printer(index, total, start), log, timeout=timeout,
                        kernel_name=kernel, resources={"metadata": {"path": str(path.parent.resolve())}})
    status, reason = "ok", ""
    try:
        client.execute()
    except CellFailure as e:
        status, reason = "failed", str(e)
    except DeadKernelError as e:
        status, reason = "failed", f"{name}: the GoNB kernel died ({e})"
    except Exception as e:  # a kernel that does not start, a broken notebook file, ...
        status, reason = "failed", f"{name}: {type(e).__name__}: {e}"
    finally:
        log.close()
    wall = time.monotonic() - start
    if status == "ok" and not json_path.exists():
        status, reason = "failed", (f"{name}: finished but did not write its key figures to {json_path.name} "
                                    "(its last cell must call notebook.WriteKeyFigures)")
    figures = {}
    if status == "ok":
        try:
            figures = json.loads(json_path.read_text())
        except Exception as e:
            status, reason = "failed", f"{name}: key figures {json_path.name} are not valid JSON: {e}"
    summary = {}
    if status == "ok":
        write_atomic(html_path, export_html(nb, name, index="index.html" if with_index else None))
        try:
            summary = summarize(nb, figures.get("figures", {}), out, name)
        except Exception as e:  # the index is a convenience; never fail a good report over it
            print(f"nbrun: {name}: no index summary ({type(e).__name__}: {e})", file=sys.stderr)
    else:
        json_path.unlink(missing_ok=True)
        banner = ('<div style="background:#b00;color:#fff;padding:1em;font:16px sans-serif">'
                  f"<b>FAILED</b> — this report is incomplete.<br><pre style='white-space:pre-wrap'>{html.escape(reason)}</pre></div>")
        try:
            write_atomic(failed_path, export_html(nb, name + " (FAILED)", banner, index="../index.html" if with_index else None))
        except Exception:
            pass
    return {"notebook": path.name, "status": status, "reason": reason, "wall_seconds": round(wall, 1),
            "html": html_path.name if status == "ok" else f"failed/{name}.html",
            "scale": figures.get("provenance", {}).get("scale", scale),
            "backend": figures.get("provenance", {}).get("backend", ""),
            "summary": summary,
            }


def notebook_after(path: Path) -> list[str]:
    """Names of the notebooks that must finish before this one starts: its
    metadata "sgdescape": {"after": [...]} (a notebook that reuses another's
    cached experiments, such as 05_hessian reusing 04_escape's pre-training,
    would otherwise compute them a second time while the other runs)."""
    try:
        meta = nbformat.read(path, as_version=4).metadata.get("sgdescape", {})
    except Exception:
        return []
    return [str(a) for a in meta.get("after", [])]


def _run_one(args):
    path, out, scale, timeout, kernel, index, total, with_index = args
    print(f"[{index}/{total}] {path.name}: running at {scale} scale", flush=True)
    r = run_notebook(path, out, scale, timeout, kernel, index, total, with_index=with_index)
    if r["status"] == "ok":
        print(f"[{index}/{total}] {path.name}: ok in {r['wall_seconds']:.0f} s -> {out / r['html']}", flush=True)
    else:
        print(f"[{index}/{total}] {path.name}: FAILED after {r['wall_seconds']:.0f} s\n{r['reason']}", file=sys.stderr, flush=True)
    return r


def _worker(args):
    # Looked up at call time in the (forked) worker, so tests can replace _run_one.
    return _run_one(args)


def run_all(nbs: list[Path], out: Path, scale: str, timeout: int, kernel: str, jobs: int,
            with_index: bool = True) -> list[dict]:
    """Runs the notebooks, up to `jobs` at a time (each in its own process and
    kernel; a notebook waits for those its metadata lists as "after"), and
    returns their rows in the order given. On 2 cores two at a time fill the
    time one notebook spends on single-threaded work (GoNB compiling and
    linking each cell, Go numerics on one core) with the other's."""
    total = len(nbs)
    jobs = min(jobs, total)  # never more worker processes than notebooks (--jobs 1000000 is not a fork bomb)
    work = [(p, out, scale, timeout, kernel, i, total, with_index) for i, p in enumerate(nbs, 1)]
    if jobs == 1:
        return [_run_one(w) for w in work]
    import concurrent.futures as cf
    import multiprocessing as mp
    names = {p.stem for p in nbs}
    after = {p.stem: [a for a in notebook_after(p) if a in names] for p in nbs}
    done: set[str] = set()
    rows: dict[str, dict] = {}
    pending = list(work)
    running: dict = {}
    # fork: the parent holds no kernel or thread, and os.environ stays per process.
    with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("fork")) as pool:
        while pending or running:
            for w in list(pending):
                if len(running) >= jobs:
                    break
                if all(a in done for a in after[w[0].stem]):
                    pending.remove(w)
                    running[pool.submit(_worker, w)] = w[0].stem
            if not running:  # a dependency cycle or a dependency that is not waited for: run in order
                w = pending.pop(0)
                running[pool.submit(_worker, w)] = w[0].stem
            finished, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
            for f in finished:
                stem = running.pop(f)
                rows[stem] = f.result()
                done.add(stem)
    return [rows[p.stem] for p in nbs]


def write_index(out: Path, rows: list[dict], scale: str, root: Path, total_wall: float) -> None:
    """index.json and a one-page index.html: per notebook a thumbnail of its main
    figure, its "ours vs theory" table with the agreement count, its verdict,
    status, scale, backend, wall time and a link to the report. Offline."""
    rev = git_revision(root)
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    idx = {"date": now, "git_revision": rev, "scale": scale, "wall_seconds": round(total_wall, 1),
           "notebooks": [{k: v for k, v in r.items() if k != "summary"} | {
               "title": r.get("summary", {}).get("title", ""), "thumbnail": r.get("summary", {}).get("thumbnail", ""),
               "agreement": r.get("summary", {}).get("agreement")} for r in rows]}
    write_atomic(out / "index.json", json.dumps(idx, indent=2))
    cards = []
    for r in rows:
        sm = r.get("summary") or {}
        link = html.escape(r["html"])
        ok = r["status"] == "ok"
        thumb = (f'<a href="{link}"><img class="thumb" src="{html.escape(sm["thumbnail"])}" alt="main figure of {html.escape(r["notebook"])}"></a>'
                 if sm.get("thumbnail") else '<div class="thumb none">no figure</div>')
        agree = ""
        if sm.get("agreement"):
            yes, total = sm["agreement"]
            agree = (f'<span class="badge {"good" if yes == total else "warn"}">rows that agree: '
                     f"{yes} of {total}</span>")
        status = (f'<span class="badge good">ran</span>' if ok else
                  f'<span class="badge bad">FAILED</span> <span class="reason">{html.escape(r["reason"].splitlines()[0] if r["reason"] else "")}</span>')
        meta = (f'scale <code>{html.escape(r["scale"])}</code> · backend <code>{html.escape(r["backend"] or "?")}</code> · '
                f'wall time {r["wall_seconds"]:.0f} s · <a href="{link}">full report</a>')
        verdict = f'<div class="verdict">{sm["verdict"]}</div>' if sm.get("verdict") else ""
        table = f'<div class="keytable">{sm["key_table"]}</div>' if sm.get("key_table") else ""
        title = html.escape(sm.get("title") or r["notebook"])
        cards.append(f"""<section class="card">{thumb}<div class="body">
<h2><a href="{link}">{title}</a></h2>
<div class="meta">{html.escape(r["notebook"])} · {status} {agree}<br>{meta}</div>
{verdict}{table}</div></section>""")
    nfail = sum(r["status"] != "ok" for r in rows)
    head = (f'<span class="badge good">all {len(rows)} notebooks ran</span>' if not nfail else
            f'<span class="badge bad">{nfail} of {len(rows)} notebooks failed</span>')
    page = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>sgdescape reports</title>
<script type="text/x-mathjax-config">MathJax.Hub.Config({{tex2jax: {{inlineMath: [['$','$']], processEscapes: true}}}});</script>
<script src="{MATHJAX_URL}"></script>
<style>
body {{ font-family: sans-serif; margin: 1.5em 2em; color: #222; }}
h1 {{ margin: 0 0 .2em; }} h2 {{ font-size: 1.1em; margin: 0 0 .3em; }} a {{ color: #1a5fb4; }}
.card {{ display: flex; gap: 16px; border-top: 1px solid #ccc; padding: 10px 0; align-items: flex-start; }}
.thumb {{ width: 330px; flex: none; border: 1px solid #ddd; }} .thumb.none {{ height: 60px; color: #999; text-align: center; line-height: 60px; }}
.body {{ min-width: 0; flex: 1; }}
.meta {{ font-size: 13px; color: #444; margin-bottom: 4px; }}
.badge {{ display: inline-block; padding: 0 6px; border-radius: 3px; font-size: 12px; font-weight: bold; }}
.good {{ background: #e3f4e1; color: #155d17; }} .warn {{ background: #fff1d6; color: #7a4b00; }} .bad {{ background: #fbe0e0; color: #a00; }}
.reason {{ color: #a00; font-size: 12px; }}
.verdict {{ font-size: 13px; max-height: 9.5em; overflow: auto; }} .verdict p {{ margin: .2em 0; }}
.keytable {{ max-height: 210px; overflow: auto; font-size: 12px; border: 1px solid #eee; }}
.keytable table {{ font-size: 12px !important; }}
</style></head><body>
<h1>sgdescape — reports</h1>
<p>Reproduction of <i>Power-law escape rate of SGD</i> (Mori, Ziyin, Liu, Ueda, ICML 2022). {head}<br>
<small>Generated {now}; git revision <code>{rev}</code>; scale <code>{scale}</code>; total wall time {total_wall:.0f} s.
Each row: the notebook's main figure, its comparison of our numbers with the theory and the paper, and its verdict; the link opens the full report.</small></p>
{''.join(cards)}
</body></html>"""
    write_atomic(out / "index.html", page)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("notebooks", nargs="*", help="notebooks to run (default: notebooks/[0-9]*.ipynb)")
    ap.add_argument("--out", default="reports", help="output directory (default: reports)")
    ap.add_argument("--scale", default=os.environ.get("SGDESCAPE_SCALE", "quick"), choices=["quick", "paper"])
    ap.add_argument("--cell-timeout", type=int, default=0,
                    help="seconds per cell (default: 1200 at quick scale, 86400 at paper scale)")
    ap.add_argument("--kernel", default="gonb_raw", help="Jupyter kernel name (default: gonb_raw)")
    ap.add_argument("--no-index", action="store_true", help="do not write index.html/index.json")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                    help="notebooks run at the same time, each in its own kernel (default: 2, or 1 on one CPU)")
    args = ap.parse_args(argv)
    if args.jobs < 1:
        print(f"nbrun: --jobs must be at least 1, got {args.jobs}", file=sys.stderr)
        return 2
    root = Path(__file__).resolve().parents[2]
    nbs = [Path(p) for p in args.notebooks] or sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not nbs:
        print("nbrun: no notebooks to run", file=sys.stderr)
        return 2
    for p in nbs:
        if not p.exists():
            print(f"nbrun: notebook {p} does not exist", file=sys.stderr)
            return 2
    timeout = args.cell_timeout or (1200 if args.scale == "quick" else 86400)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    rows = run_all(nbs, out, args.scale, timeout, args.kernel, args.jobs, with_index=not args.no_index)
    if not args.no_index:
        write_index(out, rows, args.scale, root, time.monotonic() - t0)
    failed = [r["notebook"] for r in rows if r["status"] != "ok"]
    if failed:
        print(f"nbrun: {len(failed)} of {len(rows)} notebooks failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"nbrun: all {len(rows)} notebooks succeeded in {time.monotonic() - t0:.0f} s"
          + ("" if args.no_index else f"; index: {out / 'index.html'}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
