"""``lookout serve`` as users run it: a real process over a SQLite file, stopped after use."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx

from api.world import T0, fill, free_port


def test_serve_over_a_sqlite_file(tmp_path):
    from lookout.store.sqlite import SQLiteStore

    db = tmp_path / "lookout.db"
    st = SQLiteStore(db)
    fill(st)
    st.close()
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "lookout", "serve", "--store", str(db), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/api/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "lookout serve did not come up in 30 s"
            time.sleep(0.2)
        tracks = httpx.get(base + "/api/tracks").json()
        assert len(tracks) == 5 and all(t["time"] == T0 + 60 for t in tracks)
        assert httpx.get(base + "/").status_code == 200
        assert httpx.get(base + "/api/alerts/a-cross-1").json()["rule"] == "border_crossing"
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=15)
    assert f"http://127.0.0.1:{port}/" in out


def test_serve_reports_a_bad_store_url():
    r = subprocess.run([sys.executable, "-m", "lookout", "serve", "--store", "ftp://nowhere/db"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "cannot open store" in r.stderr and "ftp" in r.stderr
