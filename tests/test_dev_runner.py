"""`make run` end to end: embedded services, migrations, demo data, web + worker + beat, then Ctrl-C."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PORTS = {"PORT": 8131, "DEV_PG_PORT": 54341, "DEV_REDIS_PORT": 63811}


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.slow
def test_make_run_serves_the_app_and_ctrl_c_stops_everything(tmp_path):
    if any(listening(port) for port in PORTS.values()):
        pytest.skip("the runner test's ports are taken")
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update({name: str(port) for name, port in PORTS.items()}, DEV_DATA_DIR=str(tmp_path / "data"))
    log = (tmp_path / "run.log").open("w+")
    runner = subprocess.Popen(
        [sys.executable, "scripts/dev.py", "run"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert runner.poll() is None, "make run exited early"
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{PORTS['PORT']}/healthz", timeout=2
                ) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline, "no healthz within 120 s"
                time.sleep(0.5)
        login = urllib.request.urlopen(f"http://127.0.0.1:{PORTS['PORT']}/login/", timeout=5).read().decode()
        assert "Sign in" in login
    finally:
        runner.send_signal(signal.SIGINT)
        runner.wait(timeout=60)
    log.seek(0)
    output = log.read()
    assert "email demo@example.com  password demo-partner-2026" in output
    for name in ("web", "worker", "beat"):
        assert f"{name:<8}|" in output, f"no {name} output"
    assert "stopped; data kept" in output
    assert not any(listening(port) for port in PORTS.values()), "something is still listening after Ctrl-C"
