"""``lookout track`` on files that are not CSV text: one line on stderr, exit status 2, no traceback."""

from __future__ import annotations

import gzip
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from typer.testing import CliRunner

from lookout.cli import app

CSV = "time_s,x_m,y_m\n0,10.0,20.0\n1,11.0,21.0\n"


def _png() -> bytes:
    """A real 2x2 greyscale PNG image."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes([0, 255]) for _ in range(2))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


FILES = {
    "random": (np.random.default_rng(5).bytes(20_000), "binary data"),
    "png": (_png(), "binary data (NUL bytes), not text"),
    "utf16": (CSV.encode("utf-16"), "UTF-16 text (save it as UTF-8)"),
    "utf16-be": (b"\xfe\xff" + CSV.encode("utf-16-be"), "UTF-16 text"),
    "gzip": (gzip.compress(CSV.encode() * 50, mtime=0), "binary data"),
    "png-signature-only": (b"\x89PNG\r\n\x1a\n", "line 1: not UTF-8 text (byte 0x89)"),
    "latin1-line-3": ("time_s,x_m,y_m\n0,1,2\n1,2,3 caf\xe9\n".encode("latin-1"), "line 3: not UTF-8 text (byte 0xe9)"),
    "cut-utf8-at-end": (b"time_s,x_m,y_m\n0,1,2\n" + "é".encode()[:1], "line 3: not UTF-8 text (byte 0xc3)"),
    "empty": (b"", "empty file"),
    "huge-field": (b"time_s,x_m,y_m\n" + b"7" * 200_000 + b",1,2\n", "line 2: not readable as CSV"),
    "text-without-header": (b"hello world\nthis is not a detections file\n",
                            "line 1: missing column(s) time_s, x_m, y_m"),
}


@pytest.mark.parametrize("name", sorted(FILES))
def test_a_file_that_is_not_csv_text_gets_a_one_line_error(tmp_path, name):
    data, expected = FILES[name]
    src = tmp_path / f"{name}.bin"
    src.write_bytes(data)
    out = tmp_path / "tracks.csv"
    res = CliRunner().invoke(app, ["track", "--input", str(src), "--output", str(out)])
    assert res.exit_code == 2, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)  # no exception escaped the command
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {src}: "), res.stderr
    assert expected in lines[0] and len(lines[0]) < 400
    assert res.stdout == "" and not out.exists()


def test_a_folder_or_a_missing_file_gets_a_one_line_error(tmp_path):
    for src, expected in ((tmp_path, "cannot open"), (tmp_path / "missing.csv", "cannot open")):
        res = CliRunner().invoke(app, ["track", "--input", str(src), "--output", str(tmp_path / "t.csv")])
        assert res.exit_code == 2 and res.stderr.count("\n") == 1 and expected in res.stderr, res.output


def test_an_output_that_cannot_be_written_gets_a_one_line_error(tmp_path):
    src = tmp_path / "d.csv"
    src.write_text(CSV)
    out = tmp_path / "no-such-folder" / "tracks.csv"
    res = CliRunner().invoke(app, ["track", "--input", str(src), "--output", str(out)])
    assert res.exit_code == 2 and res.stderr == f"error: {out}: cannot write: No such file or directory\n", res.output


def test_binary_input_in_a_real_process_prints_no_traceback(tmp_path):
    src = tmp_path / "frame.png"
    src.write_bytes(_png())
    p = subprocess.run([sys.executable, "-m", "lookout", "track", "--input", str(src), "--output",
                        str(tmp_path / "t.csv")], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert p.stderr == (f"error: {src}: binary data (NUL bytes), not text; expected a UTF-8 CSV text file "
                        "with columns time_s,x_m,y_m\n")
    assert "Traceback" not in p.stderr and p.stdout == ""
