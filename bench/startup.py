"""Time from `relaydesk demo --serve` to the first answered search, cold (fresh var dir) and warm.

    .venv/bin/python bench/startup.py --runs 3

Each cold run starts the demo on an empty var dir (schema, seed, triage model, passage embeddings);
the warm runs that follow restart it on that same var dir, as a second `scripts/demo` does. For each
start: seconds until /healthz answers (the server listens), until /readyz says ready (search warm),
and until a customer's search (`POST /api/v1/public/suggestions`) returns a suggestion, with that
request's own time; and the CPU seconds the server process had used when it was ready. The server
is stopped after each start.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RELAYDESK = Path(sys.executable).parent / "relaydesk"
QUERY = {"query": "where is my package", "channel": "web_chat"}


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _status(url: str, body: dict[str, str] | None = None) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, b""


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system, every thread) the process has used so far: the load-independent part
    of a start on a machine whose other work stretches the wall-clock times."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_once(var_dir: Path, timeout: float = 300.0) -> dict[str, float]:
    """One start of the demo server on ``var_dir``: the seconds to each milestone."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = os.environ | {"RELAYDESK_VAR_DIR": str(var_dir), "PYTHONPATH": str(ROOT / "src")}
    log = (var_dir.parent / f"{var_dir.name}-{port}.log").open("wb")
    started = time.perf_counter()
    server = subprocess.Popen(
        [str(RELAYDESK), "demo", "--serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    times: dict[str, float] = {"load_average": os.getloadavg()[0]}
    try:
        while time.perf_counter() - started < timeout:
            if server.poll() is not None:
                raise RuntimeError(f"the server exited with {server.returncode}; see {log.name}")
            if "listening" not in times and _status(f"{base}/healthz")[0] == 200:
                times["listening"] = time.perf_counter() - started
            if "listening" in times and _status(f"{base}/readyz")[0] == 200:
                times["ready"] = time.perf_counter() - started
                times["cpu_at_ready"] = _cpu_seconds(server.pid)
                break
            time.sleep(0.05)
        else:
            raise RuntimeError(f"not ready within {timeout} s; see {log.name}")
        asked = time.perf_counter()
        status, body = _status(f"{base}/api/v1/public/suggestions", QUERY)
        times["first_search_ms"] = (time.perf_counter() - asked) * 1000
        times["search_answered"] = time.perf_counter() - started
        suggestions = json.loads(body).get("suggestions", []) if status == 200 else []
        if not suggestions:
            raise RuntimeError(f"the first search answered {status} with no suggestion: {body[:200]!r}")
        return times
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3, help="cold starts, each followed by one warm start")
    parser.add_argument("--warm-per-cold", type=int, default=1)
    arguments = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="relaydesk-startup-"))
    rows: list[dict[str, object]] = []
    for run in range(arguments.runs):
        var_dir = workdir / f"var{run}"
        rows.append({"start": "cold", **start_once(var_dir)})
        print(json.dumps(rows[-1]), flush=True)
        for _ in range(arguments.warm_per_cold):
            rows.append({"start": "warm", **start_once(var_dir)})
            print(json.dumps(rows[-1]), flush=True)
    # Kept when a start failed: its log is there.
    shutil.rmtree(workdir, ignore_errors=True)
    for kind in ("cold", "warm"):
        ready = sorted(float(r["search_answered"]) for r in rows if r["start"] == kind)  # type: ignore[arg-type]
        if ready:
            print(f"{kind}: search answered after {', '.join(f'{s:.1f}' for s in ready)} s")


if __name__ == "__main__":
    main()
