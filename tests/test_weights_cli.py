"""``python main.py weights list|download|path`` and ``--weights NAME`` of export and flops,
run as a user runs them (subprocesses), against a server on 127.0.0.1 the test starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from weights_server import catalogue_entry, refused_url, serve, write_catalogue, write_checkpoint

from swin_model import SwinConfig

REPO = Path(__file__).resolve().parents[1]
NAME = "swin_test_patch4_window4_64"
SMALL = SwinConfig(img_size=64, embed_dim=24, depths=(2, 2), num_heads=(2, 4), window_size=4, num_classes=10)
RUN_TIMEOUT = 300


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small official-layout checkpoint (random weights) of the SMALL layout."""
    return write_checkpoint(tmp_path_factory.mktemp("served"), NAME, SMALL)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment of the command: its own cache folder and catalogue, no proxy."""
    environment = {key: value for key, value in os.environ.items() if "proxy" not in key.lower()}
    environment["SWIN_EXPLORER_CACHE"] = str(tmp_path / "cache")
    environment["SWIN_EXPLORER_CATALOGUE"] = str(write_catalogue(tmp_path / "catalogue.json",
                                                                 catalogue_entry(NAME, SMALL)))
    environment["QT_QPA_PLATFORM"] = "offscreen"
    return environment


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(REPO / "main.py"), *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False)


def test_list_download_and_path(env: dict[str, str], checkpoint: Path, tmp_path: Path) -> None:
    cached = tmp_path / "cache" / "weights" / f"{NAME}.pth"
    listed = run(env, "weights", "list")
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if line.startswith(NAME))
    assert row.split()[-1] == "no" and "KB" in row
    assert f"cache folder: {cached.parent}" in listed.stdout

    missing = run(env, "weights", "path", NAME)
    assert missing.returncode == 2 and missing.stdout == ""
    assert f"the weights {NAME} are not downloaded" in missing.stderr and str(cached) in missing.stderr

    with serve({"/w.pth": checkpoint}) as server:
        downloaded = run(env, "weights", "download", NAME, "--url", server.url("/w.pth"))
    assert downloaded.returncode == 0, downloaded.stderr
    assert downloaded.stdout.strip() == str(cached)
    assert cached.read_bytes() == checkpoint.read_bytes()
    size_kb = f"{checkpoint.stat().st_size / 1000:.1f} KB"
    assert f"of {size_kb} (100.0%)" in downloaded.stderr and "/s" in downloaded.stderr
    assert f"downloaded and verified: {cached}" in downloaded.stderr

    listed = run(env, "weights", "list")
    row = next(line for line in listed.stdout.splitlines() if line.startswith(NAME))
    assert row.endswith(f"yes: {cached}")
    found = run(env, "weights", "path", NAME)
    assert found.returncode == 0 and found.stdout.strip() == str(cached)
    again = run(env, "weights", "download", NAME)  # cached: checked, nothing fetched
    assert again.returncode == 0 and "already cached" in again.stderr


@pytest.mark.parametrize("failure", ["404", "refused", "unknown"])
def test_download_errors_exit_2_with_a_clear_message(env: dict[str, str], tmp_path: Path,
                                                    failure: str) -> None:
    with serve({}) as server:
        if failure == "404":
            url = server.url("/gone.pth")
            result = run(env, "weights", "download", NAME, "--url", url)
            assert f"HTTP 404 Not Found for {url}" in result.stderr
        elif failure == "refused":
            url = refused_url()
            result = run(env, "weights", "download", NAME, "--url", url)
            assert "connection refused" in result.stderr and url in result.stderr
        else:
            result = run(env, "weights", "download", "swin_nope")
            assert "unknown weights 'swin_nope'" in result.stderr and NAME in result.stderr
    assert result.returncode == 2
    if failure != "unknown":
        assert f"save it as {tmp_path / 'cache' / 'weights' / (NAME + '.pth')}" in result.stderr
    assert not (tmp_path / "cache" / "weights" / f"{NAME}.pth").exists()


def test_export_and_flops_take_weights_by_name(env: dict[str, str], checkpoint: Path, tmp_path: Path) -> None:
    flops = run(env, "flops", "--weights", NAME, "--img-size", "64", "--json")
    assert flops.returncode == 0, flops.stderr
    summary = json.loads(flops.stdout)
    assert summary["model"] == NAME and summary["window_size"] == 4 and len(summary["stages"]) == 2
    assert summary["stages"][1]["channels"] == 48

    not_cached = run(env, "export", str(REPO / "assets" / "test_pattern.png"), "--weights", NAME,
                     "--out", str(tmp_path / "out"))
    assert not_cached.returncode == 2 and f"weights download {NAME}" in not_cached.stderr

    with serve({"/w.pth": checkpoint}) as server:
        assert run(env, "weights", "download", NAME, "--url", server.url("/w.pth")).returncode == 0
    # the trained window is 4; the export runs the weights at M = 6 (bias tables resized)
    exported = run(env, "export", str(REPO / "assets" / "test_pattern.png"), "--weights", NAME,
                   "--img-size", "64", "--window-size", "6", "--figures", "attention", "--format", "png",
                   "--out", str(tmp_path / "out"))
    assert exported.returncode == 0, exported.stderr
    assert f"running checkpoint {tmp_path / 'cache' / 'weights' / (NAME + '.pth')}" in exported.stderr
    assert (tmp_path / "out" / "attention.png").stat().st_size > 0
    both = run(env, "export", str(REPO / "assets" / "test_pattern.png"), "--weights", NAME,
               "--checkpoint", str(checkpoint), "--out", str(tmp_path / "out"))
    assert both.returncode == 2 and "not allowed with argument" in both.stderr
