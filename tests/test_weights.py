"""Pretrained weights: the catalogue: Catalogue, the cache folder, the streaming download (progress,
cancel, resume, redirects, errors) with verify-then-rename, sha256 checks on later loads,
and checkpoints loaded at another window size (bicubic bias-table resize).

Every download comes from a server the test starts on 127.0.0.1 (tests/weights_server.py);
any other address is refused before a connection is tried."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import tracemalloc
import urllib.request
from pathlib import Path

import pytest
import torch
from torch.nn import functional
from weights_server import (
    allow_only_loopback,
    catalogue_entry,
    refused_url,
    serve,
    write_catalogue,
    write_checkpoint,
)

from swin_model import CheckpointError, SwinConfig, SwinTransformer, load_checkpoint, preset, save_official
from swin_model.bias_resize import resize_bias_table, table_window
from swin_model.weights import (
    CACHE_ENV,
    CATALOGUE_ENV,
    CancelToken,
    Catalogue,
    ChecksumMismatch,
    DownloadCancelled,
    DownloadError,
    DownloadProgress,
    WeightsError,
    cache_root,
    cached_checkpoints,
    cached_path,
    download_weights,
    fetch,
    load_catalogue,
    status,
    verified_path,
    verify_if_cached,
    weights_dir,
)

NAME = "swin_test_patch4_window4_64"
SMALL = SwinConfig(img_size=64, embed_dim=24, depths=(2, 2), num_heads=(2, 4), window_size=4, num_classes=10)
OFFICIAL_NAMES = ("swin_tiny_patch4_window7_224", "swin_small_patch4_window7_224",
                  "swin_base_patch4_window7_224", "swin_base_patch4_window12_384",
                  "swin_large_patch4_window7_224_22kto1k", "swin_large_patch4_window12_384_22kto1k")
FAST = {"retry_wait": 0.0, "progress_interval": 0.0, "timeout": 20.0}


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    allow_only_loopback(monkeypatch)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """SWIN_EXPLORER_CACHE in a fresh folder; returns the weights folder inside it."""
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache" / "weights"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small official-layout checkpoint (random weights) of the SMALL layout."""
    return write_checkpoint(tmp_path_factory.mktemp("served"), NAME, SMALL)


@pytest.fixture
def catalogue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Catalogue:
    """A catalogue with NAME in the SMALL layout, also named by SWIN_EXPLORER_CATALOGUE."""
    path = write_catalogue(tmp_path / "catalogue.json", catalogue_entry(NAME, SMALL))
    monkeypatch.setenv(CATALOGUE_ENV, str(path))
    return load_catalogue()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cache_listing(folder: Path) -> dict[str, str]:
    """{file name: sha256} of everything in ``folder`` ({} when it does not exist)."""
    if not folder.exists():
        return {}
    return {path.name: sha256(path) for path in sorted(folder.iterdir())}


# --- the bundled catalogue ----------------------------------------------------------------

def test_bundled_catalogue_lists_the_official_releases() -> None:
    catalogue = load_catalogue(Path(__file__).resolve().parents[1] / "assets" / "weights.json")
    assert set(OFFICIAL_NAMES) <= set(catalogue)
    presets = {"tiny": "swin-t", "small": "swin-s", "base": "swin-b", "large": "swin-l"}
    for name in OFFICIAL_NAMES:
        entry = catalogue[name]
        assert entry.url == f"https://github.com/SwinTransformer/storage/releases/download/v1.0.0/{name}.pth"
        window = 12 if "window12" in name else 7
        side = 384 if "_384" in name else 224
        expected = preset(presets[name.split("_")[1]], img_size=side, window_size=window)
        for field in ("embed_dim", "depths", "num_heads", "window_size", "img_size", "num_classes",
                      "patch_size"):
            assert getattr(entry.config, field) == getattr(expected, field), (name, field)
        assert entry.size is None or entry.size > 10**8
        assert entry.sha256 is None or len(entry.sha256) == 64
        assert all(mirror.url.startswith("https://huggingface.co/timm/") for mirror in entry.mirrors)
        # the size shown for an unknown one is the float32 parameter bytes (Swin-T: 28.3 M params)
    assert 110e6 < catalogue["swin_tiny_patch4_window7_224"].approx_bytes < 118e6


@pytest.mark.parametrize(("change", "message"), [
    ({"url": "ftp://host/x.pth"}, "url must be an http(s) address"),
    ({"sha256": "abc"}, "sha256 must be 64 hex digits"),
    ({"size": -3}, "size must be a number of bytes"),
    ({"name": "../escape"}, "name must be a file stem"),
])
def test_a_malformed_catalogue_entry_is_named(tmp_path: Path, change: dict[str, object],
                                              message: str) -> None:
    path = write_catalogue(tmp_path / "bad.json", {**catalogue_entry(NAME, SMALL), **change})
    with pytest.raises(WeightsError, match="entry") as caught:
        load_catalogue(path)
    assert message in str(caught.value) and str(path) in str(caught.value)


def test_an_unknown_name_lists_the_known_ones(catalogue: Catalogue) -> None:
    with pytest.raises(WeightsError, match=f"unknown weights 'nope'; the catalogue has {NAME}"):
        download_weights("nope", url="http://127.0.0.1:1/x.pth")


# --- the cache folder ----------------------------------------------------------------------

def test_cache_folder_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "mine"))
    assert cache_root() == tmp_path / "mine" and weights_dir() == tmp_path / "mine" / "weights"
    monkeypatch.delenv(CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if os.name == "posix" and os.uname().sysname == "Linux":
        assert weights_dir() == tmp_path / "xdg" / "swin-explorer" / "weights"


def test_cache_listing_counts_finished_files_only(cache: Path, catalogue: Catalogue,
                                                  checkpoint: Path) -> None:
    assert cached_checkpoints() == [] and cached_path(NAME) is None
    cache.mkdir(parents=True)
    (cache / f"{NAME}.pth.part").write_bytes(b"x" * 1234)
    assert cached_checkpoints() == [] and status(catalogue[NAME]).partial_bytes == 1234
    shutil.copy(checkpoint, cache / f"{NAME}.pth")
    assert cached_checkpoints() == [cache / f"{NAME}.pth"]
    assert status(catalogue[NAME]).path == cache / f"{NAME}.pth"


# --- downloads -----------------------------------------------------------------------------

def test_download_reports_progress_and_keeps_a_verified_file(cache: Path, catalogue: Catalogue,
                                                             checkpoint: Path) -> None:
    seen = []
    with serve({"/w.pth": checkpoint}) as server:
        path = download_weights(NAME, url=server.url("/w.pth"), progress=seen.append, **FAST)
    size = checkpoint.stat().st_size
    assert path == cache / f"{NAME}.pth" and path.read_bytes() == checkpoint.read_bytes()
    received = [step.received for step in seen]
    assert received[0] == 0 and received[-1] == size and received == sorted(received) and len(seen) >= 3
    assert all(step.total == size for step in seen)
    assert seen[-1].rate > 0 and seen[-1].seconds_left == 0 and seen[-1].fraction == 1.0
    assert sorted(p.name for p in cache.iterdir()) == sorted([f"{NAME}.pth", "sha256.json"])  # no .part left
    assert verified_path(NAME) == path  # the recorded sha256 matches


def test_cancel_leaves_the_cache_as_it_was_and_the_next_download_resumes(
        cache: Path, catalogue: Catalogue, checkpoint: Path) -> None:
    held_at = 40_000
    arrived: list[int] = []

    def cancel_once_bytes_arrived() -> bool:
        return bool(arrived) and arrived[-1] >= held_at

    with serve({"/w.pth": checkpoint}, hold={"/w.pth": held_at}) as server:
        with pytest.raises(DownloadCancelled, match="cancelled"):
            download_weights(NAME, url=server.url("/w.pth"), should_cancel=cancel_once_bytes_arrived,
                             progress=lambda step: arrived.append(step.received), **FAST)
        assert cached_path(NAME) is None and cached_checkpoints() == []
        assert (cache / f"{NAME}.pth.part").stat().st_size == held_at
        server.release.set()
        server.hold.clear()
        path = download_weights(NAME, url=server.url("/w.pth"), **FAST)
    assert path.read_bytes() == checkpoint.read_bytes()
    assert server.requests[-1].range == f"bytes={held_at}-"


def test_a_dropped_connection_is_resumed_with_a_range_request(cache: Path, catalogue: Catalogue,
                                                              checkpoint: Path) -> None:
    cut = 100_000
    seen = []
    with serve({"/w.pth": checkpoint}, drop_once={"/w.pth": cut}) as server:
        path = download_weights(NAME, url=server.url("/w.pth"), progress=seen.append, **FAST)
    assert [request.range for request in server.requests] == [None, f"bytes={cut}-"]
    assert path.read_bytes() == checkpoint.read_bytes()
    assert seen[-1].resumed_from == cut and seen[-1].received == checkpoint.stat().st_size


def test_a_server_without_ranges_is_downloaded_again_from_the_start(cache: Path, catalogue,
                                                                    checkpoint: Path) -> None:
    with serve({"/w.pth": checkpoint}, ranges=False, drop_once={"/w.pth": 50_000}) as server:
        path = download_weights(NAME, url=server.url("/w.pth"), **FAST)
    assert len(server.requests) == 2 and path.read_bytes() == checkpoint.read_bytes()


def test_redirects_are_followed_with_the_range_kept(cache: Path, catalogue: Catalogue,
                                                    checkpoint: Path) -> None:
    files = {"/storage/w.pth": checkpoint}
    with serve(files, redirects={"/releases/w.pth": "/storage/w.pth"},
               drop_once={"/storage/w.pth": 70_000}) as server:
        path = download_weights(NAME, url=server.url("/releases/w.pth"), **FAST)
    assert [(request.path, request.range) for request in server.requests] == [
        ("/releases/w.pth", None), ("/storage/w.pth", None),
        ("/releases/w.pth", "bytes=70000-"), ("/storage/w.pth", "bytes=70000-")]
    assert path.read_bytes() == checkpoint.read_bytes()


def test_a_corrupted_download_is_rejected_and_the_cache_is_untouched(
        cache: Path, catalogue: Catalogue, checkpoint: Path, tmp_path: Path) -> None:
    with serve({"/w.pth": checkpoint}) as server:
        download_weights(NAME, url=server.url("/w.pth"), **FAST)
    before = cache_listing(cache)
    garbage = checkpoint.read_bytes()[:5000] + os.urandom(20_000)
    torch.manual_seed(1)
    other_layout = tmp_path / "other.pth"
    save_official(SwinTransformer(SMALL.replace(embed_dim=32)), other_layout)
    with serve({"/garbage.pth": garbage, "/other.pth": other_layout}) as server:
        with pytest.raises(WeightsError, match="was discarded: it does not load as a Swin checkpoint"):
            download_weights(NAME, url=server.url("/garbage.pth"), force=True, **FAST)
        assert cache_listing(cache) == before
        with pytest.raises(WeightsError, match=r"do not match the catalogue's layout .*embed_dim 32 "
                                               r"\(the catalogue gives 24\)"):
            download_weights(NAME, url=server.url("/other.pth"), force=True, **FAST)
        assert cache_listing(cache) == before


def test_a_download_with_the_wrong_sha256_or_size_is_discarded(cache: Path, tmp_path: Path,
                                                                checkpoint: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    size = checkpoint.stat().st_size
    for fields, message in (({"sha256": "0" * 64}, "has sha256 .* but the catalogue gives 0000"),
                            ({"size": size + 1}, f"is {size} bytes, but the catalogue expects {size + 1}")):
        path = write_catalogue(tmp_path / "catalogue.json", catalogue_entry(NAME, SMALL, **fields))
        monkeypatch.setenv(CATALOGUE_ENV, str(path))
        with serve({f"/{NAME}.pth": checkpoint}) as server, pytest.raises(ChecksumMismatch, match=message):
            download_weights(NAME, url=server.url(f"/{NAME}.pth"), **FAST)
        assert cache_listing(cache) == {}
    # the right sha256 and size pass
    path = write_catalogue(tmp_path / "catalogue.json",
                           catalogue_entry(NAME, SMALL, sha256=sha256(checkpoint), size=size))
    monkeypatch.setenv(CATALOGUE_ENV, str(path))
    with serve({f"/{NAME}.pth": checkpoint}) as server:
        assert download_weights(NAME, url=server.url(f"/{NAME}.pth"), **FAST).stat().st_size == size


def test_http_404_is_named_with_the_address_and_where_to_put_a_file(cache: Path,
                                                                    catalogue: Catalogue) -> None:
    with serve({}) as server, pytest.raises(DownloadError) as caught:
        download_weights(NAME, url=server.url("/missing.pth"), **FAST)
    message = str(caught.value)
    assert f"HTTP 404 Not Found for {server.url('/missing.pth')}" in message
    assert f"save it as {cache / (NAME + '.pth')}" in message
    assert caught.value.url == server.url("/missing.pth")
    assert cache_listing(cache) == {}


def test_a_refused_connection_is_named_with_the_address(cache: Path, catalogue: Catalogue) -> None:
    url = refused_url(f"/{NAME}.pth")
    with pytest.raises(DownloadError) as caught:
        download_weights(NAME, url=url, **FAST)
    message = str(caught.value)
    assert "connection refused" in message and url in message
    assert f"save it as {cache / (NAME + '.pth')}" in message
    assert not cache.exists()


def test_a_connection_that_keeps_dropping_fails_after_the_retries(cache: Path, catalogue,
                                                                 checkpoint: Path) -> None:
    # the one drop is more than zero retries allow; the partial file stays for a resume
    with serve({"/w.pth": checkpoint}, drop_once={"/w.pth": 10_000}) as server, \
            pytest.raises(DownloadError, match=r"dropped 1 times .*10000 of \d+ bytes arrived"):
        download_weights(NAME, url=server.url("/w.pth"), retries=0, **FAST)
    assert cached_path(NAME) is None and (cache / f"{NAME}.pth.part").stat().st_size == 10_000


# --- later loads ---------------------------------------------------------------------------

def test_a_changed_cached_file_fails_its_sha256_check(cache: Path, catalogue: Catalogue,
                                                      checkpoint: Path) -> None:
    with serve({"/w.pth": checkpoint}) as server:
        path = download_weights(NAME, url=server.url("/w.pth"), **FAST)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ChecksumMismatch, match="was recorded when it was downloaded") as caught:
        verified_path(NAME)
    assert str(path) in str(caught.value) and f"weights download {NAME}" in str(caught.value)
    with pytest.raises(ChecksumMismatch):
        download_weights(NAME)  # cached: checked, not downloaded again


def test_a_file_put_there_by_hand_is_recorded_on_first_use(cache: Path, catalogue: Catalogue,
                                                           checkpoint: Path) -> None:
    cache.mkdir(parents=True)
    shutil.copy(checkpoint, cache / f"{NAME}.pth")
    assert verified_path(NAME) == cache / f"{NAME}.pth"
    (cache / f"{NAME}.pth").write_bytes(checkpoint.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ChecksumMismatch):
        verified_path(NAME)


def test_cached_weights_load_with_the_network_disabled(cache: Path, catalogue: Catalogue, checkpoint: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    with serve({"/w.pth": checkpoint}) as server:
        download_weights(NAME, url=server.url("/w.pth"), **FAST)

    def no_network(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the network was used")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(urllib.request.OpenerDirector, "open", no_network)
    path = download_weights(NAME)  # cached: no download
    assert path == verified_path(NAME) == cache / f"{NAME}.pth"
    model = load_checkpoint(path)
    assert model.config.embed_dim == SMALL.embed_dim and cached_checkpoints() == [path]


def test_streaming_keeps_memory_far_below_the_file_size(tmp_path: Path) -> None:
    size = 24 * 2**20
    big = tmp_path / "big.bin"
    with big.open("wb") as stream:
        for _ in range(size // 2**20):
            stream.write(os.urandom(2**20))
    with serve({"/big.bin": big}) as server:
        tracemalloc.start()
        try:
            result = fetch(server.url("/big.bin"), tmp_path / "big.part", progress_interval=0.0)
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert result.size == size and result.sha256 == sha256(big)
    assert peak < 4 * 2**20, f"peak {peak} bytes while downloading {size}"


# --- another window size: bicubic bias tables ----------------------------------------------

def official_resize(table: torch.Tensor, new_window: int) -> torch.Tensor:
    """The lines of the official load_pretrained (utils.py), as they stand there."""
    length, heads = table.size()
    side = int(length ** 0.5)
    new_side = 2 * new_window - 1
    resized = functional.interpolate(table.permute(1, 0).view(1, heads, side, side),
                                     size=(new_side, new_side), mode="bicubic")
    return resized.view(heads, new_side * new_side).permute(1, 0)


def test_resize_bias_table_is_the_official_bicubic() -> None:
    table = torch.randn(13 * 13, 3, generator=torch.Generator().manual_seed(0))
    for window in (2, 5, 12):
        resized = resize_bias_table(table, window)
        assert resized.shape == ((2 * window - 1) ** 2, 3) and resized.is_contiguous()
        assert torch.equal(resized, official_resize(table, window))
        assert table_window(resized) == window
    assert resize_bias_table(table, 7) is table
    constant = torch.full((49, 2), 0.25)
    assert torch.allclose(resize_bias_table(constant, 9), torch.full((17 * 17, 2), 0.25))
    with pytest.raises(ValueError, match="new_window"):
        resize_bias_table(table, 0)


def randomised(config: SwinConfig, seed: int) -> SwinTransformer:
    model = SwinTransformer(config).eval()
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.2)
    return model


@pytest.mark.parametrize(("window", "stage_windows"), [(6, (6, 6)), (3, (3, 3)), (10, (10, 8))])
def test_a_checkpoint_loads_at_another_window_with_resized_tables(tmp_path: Path, window: int,
                                                                  stage_windows: tuple[int, int]) -> None:
    trained = randomised(SMALL, seed=3)
    path = tmp_path / "trained.pth"
    save_official(trained, path)
    loaded = load_checkpoint(path, window_size=window, img_size=64)
    assert loaded.bias_tables_resized_from == 4
    assert f"resized bicubically from M=4 to M={window}" in loaded.checkpoint_info
    assert tuple(loaded.config.stage_window(stage) for stage in range(2)) == stage_windows
    # the reference: a model built at the new window whose tables hold the official resize
    reference = SwinTransformer(loaded.config).eval()
    state = dict(trained.state_dict())
    for key, value in state.items():
        if key.endswith("relative_position_bias_table"):
            stage = int(key.split(".")[1])
            state[key] = official_resize(value, stage_windows[stage])
    reference.load_state_dict(state)
    for key, value in reference.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    pixels = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        assert torch.equal(loaded(pixels), reference(pixels))
        assert not torch.allclose(loaded(pixels), trained(pixels))  # a different model, as it should be


def test_the_trained_window_needs_no_resize(tmp_path: Path) -> None:
    path = tmp_path / "trained.pth"
    save_official(randomised(SMALL, seed=4), path)
    assert load_checkpoint(path).bias_tables_resized_from is None
    assert load_checkpoint(path, window_size=4).bias_tables_resized_from is None
    with pytest.raises(CheckpointError, match="window_size must be an integer >= 1, got 0"):
        load_checkpoint(path, window_size=0)


def test_a_cancel_token_interrupts_a_read_waiting_on_a_stalled_server(cache: Path, catalogue: Catalogue,
                                                                      checkpoint: Path) -> None:
    token = CancelToken()
    outcome: list[BaseException] = []
    arrived = threading.Event()

    def note(step: DownloadProgress) -> None:
        if step.received >= 30_000:
            arrived.set()

    def download() -> None:
        try:
            download_weights(NAME, url=server.url("/w.pth"), should_cancel=token, progress=note, **FAST)
        except BaseException as error:  # handed to the test thread
            outcome.append(error)

    with serve({"/w.pth": checkpoint}, hold={"/w.pth": 30_000}, hold_timeout=60.0) as server:
        worker = threading.Thread(target=download)
        worker.start()
        assert arrived.wait(20)  # the held bytes are read: the download now waits on the server
        token.cancel()  # the server still holds the rest: only the shut-down socket ends the read
        worker.join(20)
        stopped = not worker.is_alive()
        server.release.set()
        worker.join(20)
    assert stopped, "the cancelled download went on waiting for the server"
    assert len(outcome) == 1 and isinstance(outcome[0], DownloadCancelled)
    assert cached_path(NAME) is None and (cache / f"{NAME}.pth.part").stat().st_size == 30_000


def test_verify_if_cached_checks_cached_files_only(cache: Path, catalogue: Catalogue, checkpoint: Path,
                                                   tmp_path: Path) -> None:
    cache.mkdir(parents=True)
    cached = cache / f"{NAME}.pth"
    shutil.copy(checkpoint, cached)
    verify_if_cached(cached)  # first use: recorded
    cached.write_bytes(checkpoint.read_bytes()[:-4] + b"oops")
    with pytest.raises(ChecksumMismatch):
        verify_if_cached(cached)
    elsewhere = tmp_path / f"{NAME}.pth"
    elsewhere.write_bytes(b"not even a checkpoint")
    verify_if_cached(elsewhere)  # not in the cache folder: not ours to judge


def test_the_weights_package_imports_without_torch_or_qt() -> None:
    code = ("import sys, swin_model.weights as weights; weights.load_catalogue(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'PySide6', 'shiboken6')))")
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_offline_the_message_names_the_address_and_where_to_put_a_file(cache: Path,
                                                                       catalogue: Catalogue) -> None:
    # the catalogue's own address: its host name cannot be looked up (the guard refuses it,
    # as a machine without network would)
    with pytest.raises(DownloadError) as caught:
        download_weights(NAME, **FAST)
    message = str(caught.value)
    assert "cannot reach weights.invalid" in message and catalogue[NAME].url in message
    assert f"save it as {cache / (NAME + '.pth')}" in message and not cache.exists()
