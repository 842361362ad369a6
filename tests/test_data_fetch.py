"""`fetch_dataset` / `steerstats data fetch` against a local HTTP server laid out like the repository."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from steerstats._io import sha256_file
from steerstats.cli import main
from steerstats.data import FetchError, fetch_dataset, load_card, load_study

CARD = load_card("vafa2025")


class _Handler(http.server.SimpleHTTPRequestHandler):
    requests: list[str]

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        self.server.requests.append(self.path)  # type: ignore[attr-defined]
        super().do_GET()


@pytest.fixture
def served(tmp_path, vafa2025_dir):
    """(base_url, served root, request log): the release laid out as image_generation/data, LLMs/data."""
    root = tmp_path / "remote"
    (root / "image_generation").mkdir(parents=True)
    (root / "LLMs").mkdir()
    os.symlink(vafa2025_dir / "image_generation", root / "image_generation" / "data")
    os.symlink(vafa2025_dir / "llm", root / "LLMs" / "data")
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Handler, directory=str(root))
    )
    server.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", root, server.requests  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.startswith(".")]


def test_fresh_fetch_verifies_and_loads(served, tmp_path):
    base, _, requests = served
    out = tmp_path / "out"
    results = fetch_dataset("vafa2025", out, base_url=base, progress=False)
    assert len(results) == len(CARD.files) == len(requests)
    assert {r.status for r in results} == {"downloaded"}
    for spec in CARD.files:
        assert sha256_file(out / spec.path) == spec.sha256
    assert not _leftovers(out)
    study = load_study("vafa2025", out)
    assert len(study.steering) == 2770


def test_resume_skips_good_files_and_refetches_corrupted(served, tmp_path):
    base, _, requests = served
    out = tmp_path / "out"
    fetch_dataset("vafa2025", out, base_url=base, progress=False)
    requests.clear()
    again = fetch_dataset("vafa2025", out, base_url=base, progress=False)
    assert {r.status for r in again} == {"present"} and requests == []
    victim = out / "llm" / "sat_ratings.csv"
    victim.write_bytes(victim.read_bytes()[:-100])  # a truncated earlier download
    (out / "image_generation" / "pom5.csv").unlink()  # an interrupted earlier run
    third = fetch_dataset("vafa2025", out, base_url=base, progress=False)
    status = {r.path.relative_to(out).as_posix(): r.status for r in third}
    assert status["llm/sat_ratings.csv"] == "replaced"
    assert status["image_generation/pom5.csv"] == "downloaded"
    assert sum(s == "present" for s in status.values()) == len(CARD.files) - 2
    assert sorted(requests) == ["/LLMs/data/sat_ratings.csv", "/image_generation/data/pom5.csv"]
    assert sha256_file(victim) == CARD.file("llm/sat_ratings.csv").sha256


def test_hash_mismatch_from_server_writes_nothing(served, tmp_path, vafa2025_dir):
    base, root, _ = served
    # replace the served image_generation folder by a copy with one corrupted file
    (root / "image_generation" / "data").unlink()
    shutil.copytree(vafa2025_dir / "image_generation", root / "image_generation" / "data")
    bad = root / "image_generation" / "data" / "improvement.csv"
    bad.write_bytes(bad.read_bytes().replace(b"True", b"False", 1))
    out = tmp_path / "out"
    with pytest.raises(FetchError, match=r"sha256 .* does not match") as err:
        fetch_dataset("vafa2025", out, base_url=base, progress=False)
    assert "\n" not in str(err.value)
    assert not (out / "image_generation" / "improvement.csv").exists()
    assert not _leftovers(out) if out.exists() else True
    # files before it in the card were verified and kept (the next run resumes from there)
    assert sha256_file(out / "image_generation" / "steering.csv") == CARD.file("steering").sha256


def test_http_404_is_a_clear_error(served, tmp_path):
    base, _, _ = served
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch_dataset("vafa2025", tmp_path / "out", base_url=base + "no/such/prefix/", progress=False)


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_offline_fails_fast_with_one_line(tmp_path, capsys):
    base = f"http://127.0.0.1:{_dead_port()}/"
    with pytest.raises(FetchError, match=r"cannot download .*\(offline\?"):
        fetch_dataset("vafa2025", tmp_path / "out", base_url=base, timeout=2, progress=False)
    rc = main(["data", "fetch", "vafa2025", "--out", str(tmp_path / "out"), "--base-url", base, "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not any((tmp_path / "out").rglob("*.csv")) if (tmp_path / "out").exists() else True


def test_cli_fetch_and_card(served, tmp_path, capsys):
    base, _, _ = served
    out = tmp_path / "out"
    assert main(["data", "fetch", "vafa2025", "--to", str(out), "--base-url", base, "--quiet"]) == 0
    text = capsys.readouterr().out
    assert f"{len(CARD.files)} files verified" in text and f"{len(CARD.files)} downloaded" in text
    assert main(["data", "card", "vafa2025", "--columns"]) == 0
    text = capsys.readouterr().out
    assert "SarahBentley/Steerability" in text and "MIT" in text
    assert all(spec.path in text for spec in CARD.files) and "dreamsim" in text


class _Trickle(http.server.BaseHTTPRequestHandler):
    """Sends a large Content-Length, then one byte every 50 ms (a hostile or broken server)."""

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(10**9))
        self.end_headers()
        deadline = time.monotonic() + 20  # bounded: the server stops by itself
        try:
            while time.monotonic() < deadline:
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.05)
        except OSError:
            pass


class _Flood(http.server.BaseHTTPRequestHandler):
    """Answers every file with far more bytes than the card says it has."""

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        block = b"y" * (1 << 16)
        try:
            for _ in range(2000):  # at most 128 MiB, stopped early by the client
                self.wfile.write(block)
        except OSError:
            pass


@pytest.fixture
def hostile_server(request):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), request.param)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize("hostile_server", [_Trickle], indirect=True)
def test_a_trickling_server_is_stopped_by_the_total_time_limit(hostile_server, tmp_path):
    out = tmp_path / "out"
    t0 = time.monotonic()
    with pytest.raises(FetchError, match="not finished within 1 s"):
        fetch_dataset("vafa2025", out, base_url=hostile_server, timeout=2, total_timeout=1, progress=False)
    assert time.monotonic() - t0 < 15
    assert not any(out.rglob("*")) or not [p for p in out.rglob("*") if p.is_file()]


@pytest.mark.parametrize("hostile_server", [_Flood], indirect=True)
def test_a_body_far_larger_than_the_card_says_is_refused(hostile_server, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(FetchError, match="more than"):
        fetch_dataset("vafa2025", out, base_url=hostile_server, progress=False)
    assert not [p for p in out.rglob("*") if p.is_file()]


def test_a_card_path_that_leaves_the_target_is_refused(tmp_path, served):
    base, _, requests = served
    card = (Path(CARD.source).read_text(encoding="utf-8")
            .replace('path = "image_generation/steering.csv"', 'path = "../../escaped.csv"', 1))
    custom = tmp_path / "custom.toml"
    custom.write_text(card, encoding="utf-8")
    out = tmp_path / "a" / "b" / "out"
    with pytest.raises(FetchError, match="leaves the target directory"):
        fetch_dataset(str(custom), out, base_url=base, progress=False)
    assert not (tmp_path / "escaped.csv").exists() and not (tmp_path / "a" / "escaped.csv").exists()
    assert requests == []  # refused before any download
