"""Self-signed test PKI made with the openssl command line: a CA, a server certificate for
127.0.0.1, client certificates (valid and expired) and an expired server certificate."""

from __future__ import annotations

import subprocess
from pathlib import Path


def _run(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _leaf(d: Path, name: str, cn: str, days: str, server: bool) -> None:
    _run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", f"{name}.key",
         "-out", f"{name}.csr", "-subj", f"/CN={cn}", cwd=d)
    ext = d / f"{name}.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n" if server
                   else "extendedKeyUsage=clientAuth\n")
    # days "-1": not-after one day before not-before, i.e. an expired certificate
    _run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
         "-out", f"{name}.pem", "-days", days, "-extfile", ext.name, cwd=d)


def make_pki(d: Path) -> dict[str, Path]:
    d.mkdir(parents=True, exist_ok=True)
    _run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key",
         "-out", "ca.pem", "-subj", "/CN=Lookout test CA", "-days", "2", cwd=d)
    _leaf(d, "server", "127.0.0.1", "2", True)
    _leaf(d, "server-expired", "127.0.0.1", "-1", True)
    _leaf(d, "client", "agent-12", "2", False)
    _leaf(d, "client-expired", "agent-13", "-1", False)
    return {p.stem: p for p in d.iterdir() if p.suffix == ".pem"} | {"dir": d}  # keys: .with_suffix(".key")
