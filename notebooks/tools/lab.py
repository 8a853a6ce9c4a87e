#!/usr/bin/env python3
"""Start JupyterLab on sgdescape's notebooks, the one way `make lab` and the browser test do.

* `--allow-root` is passed only when running as root (JupyterLab refuses root without it);
* the project's own Jupyter set-up in .venv is used: kernels (gonb) from
  .venv/share/jupyter, and the settings that switch off the news pop-up and the
  update check (notebooks/tools/jupyter/, installed by `make setup`);
* with --port 0 a free port is picked; --token sets the access token.

`python notebooks/tools/lab.py` is what `make lab` runs; tests import
`command()` and `start()` from here.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
JUPYTER = Path(sys.prefix) / "bin" / "jupyter"


class LabError(Exception):
    """JupyterLab did not start; the message says why (port taken, kernel missing, ...)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_taken(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def command(port: int, token: str | None, browser: bool, notebook_dir: Path) -> list[str]:
    """The JupyterLab command line for the notebooks in notebook_dir."""
    cmd = [str(JUPYTER), "lab", f"--notebook-dir={notebook_dir}", f"--ServerApp.port={port}",
           "--ServerApp.port_retries=0", "--ServerApp.ip=127.0.0.1"]
    if token is not None:
        cmd.append(f"--IdentityProvider.token={token}")
    if not browser:
        cmd.append("--no-browser")
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    return cmd


def environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of the server: the venv's Jupyter data and the project's tools on PATH."""
    env = dict(os.environ)
    env.setdefault("JUPYTER_DATA_DIR", str(Path(sys.prefix) / "share" / "jupyter"))
    env["PATH"] = os.pathsep.join([str(ROOT / ".tools" / "bin"), str(Path(sys.prefix) / "bin"), env.get("PATH", "")])
    env.pop("SGDESCAPE_HEADLESS", None)  # widgets must work in JupyterLab
    env.update(extra or {})
    return env


class Lab:
    """A running JupyterLab server started by start(); stop() ends it and its kernels by PID."""

    def __init__(self, proc: subprocess.Popen, port: int, token: str, log: Path):
        self.proc, self.port, self.token, self.log = proc, port, token, log
        self.url = f"http://127.0.0.1:{port}"

    def api(self, path: str, method: str = "GET"):
        req = urllib.request.Request(f"{self.url}{path}", method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
            return json.loads(body) if body else None

    def stop(self) -> list[int]:
        """Shut the kernels down, stop the server by PID, then kill any process it
        left behind (a kernel's cell program); returns the PIDs that had to be killed."""
        import psutil  # a dependency of jupyter_server / ipykernel, pinned in requirements-dev.txt
        try:
            family = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.Error:
            family = []
        if self.proc.poll() is None:
            try:
                for k in self.api("/api/kernels") or []:
                    try:
                        self.api(f"/api/kernels/{k['id']}", method="DELETE")
                    except Exception:
                        pass
            except Exception:
                pass
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        killed = []
        for p in family:
            try:
                if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                    p.kill()
                    killed.append(p.pid)
            except psutil.Error:
                pass
        return killed


def start(notebook_dir: Path, log: Path, port: int = 0, kernel: str = "gonb", timeout: float = 90,
          extra_env: dict[str, str] | None = None) -> Lab:
    """Start JupyterLab headless on a free (or the given) port with a fresh token and
    wait until it answers and knows `kernel`. Raises LabError naming the cause."""
    if not JUPYTER.exists():
        raise LabError(f"JupyterLab is not installed ({JUPYTER} missing): run `make setup`")
    if not 0 <= port <= 65535:
        raise LabError(f"JupyterLab cannot start: {port} is not a TCP port (use 1–65535, or 0 for a free one)")
    if port == 0:
        port = free_port()
    elif port_taken(port):
        raise LabError(f"JupyterLab cannot start: port {port} is taken by another program")
    token = secrets.token_hex(16)
    log.parent.mkdir(parents=True, exist_ok=True)
    out = open(log, "w")
    proc = subprocess.Popen(command(port, token, browser=False, notebook_dir=notebook_dir), cwd=notebook_dir,
                            env=environment(extra_env), stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    lab = Lab(proc, port, token, log)
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            text = log.read_text(errors="replace")
            if "already in use" in text or "Address already in use" in text:
                raise LabError(f"JupyterLab cannot start: port {port} is taken by another program")
            raise LabError(f"JupyterLab exited with status {proc.returncode} before answering; its log ({log}):\n"
                           + "\n".join(text.splitlines()[-15:]))
        try:
            specs = lab.api("/api/kernelspecs")
            break
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        if time.monotonic() > deadline:
            lab.stop()
            raise LabError(f"JupyterLab did not answer on port {port} within {timeout:.0f} s; see {log}")
        time.sleep(0.5)
    names = sorted((specs or {}).get("kernelspecs", {}))
    if kernel not in names:
        lab.stop()
        raise LabError(f"JupyterLab started but the kernel {kernel!r} is missing (installed: {', '.join(names) or 'none'}); "
                       "`make setup` registers the GoNB kernel in .venv")
    return lab


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=8888, help="port (default 8888; 0 picks a free one)")
    ap.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    ap.add_argument("--notebook-dir", default=str(ROOT / "notebooks"))
    args = ap.parse_args(argv)
    if not 0 <= args.port <= 65535:
        print(f"lab: port {args.port} is not a TCP port; use 1–65535, or 0 for a free one (make lab LAB_PORT=0)", file=sys.stderr)
        return 2
    if not JUPYTER.exists():
        print(f"lab: JupyterLab is not installed ({JUPYTER} missing): run `make setup`", file=sys.stderr)
        return 2
    port = free_port() if args.port == 0 else args.port
    if port_taken(port):
        print(f"lab: port {port} is taken; choose another with `make lab LAB_PORT=<port>` (0 picks a free one)", file=sys.stderr)
        return 2
    cmd = command(port, None, browser=not args.no_browser, notebook_dir=Path(args.notebook_dir).resolve())
    os.execve(cmd[0], cmd, environment())


if __name__ == "__main__":
    sys.exit(main())
