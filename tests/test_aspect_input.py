"""Inputs that keep the photo's aspect ratio: the shape rule, the state, the views, the
controller (preparing off the GUI thread), the command line and the export job."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from figure_views import dispose_views
from hypothesis import given, seed, settings
from hypothesis import strategies as st
from PIL import Image
from PySide6 import QtWidgets

from explorer.controller import Controller, prepares_quickly
from explorer.export.options import ExportOptions
from explorer.export_job import ExportRequest, export_arguments
from explorer.figures import FIGURE_NAMES, build_figures
from explorer.resolved import MODEL_FIELDS, resolve, settle
from explorer.state import ExplorerState, InferenceRequest, InferenceResult, aspect_shape, input_shape
from explorer.views.cells import padding_rects
from swin_model.config import preset
from swin_model.flops import count_macs
from swin_model.preprocess import load_image, prepare
from swin_model.windows import stage_geometry

REPO = Path(__file__).resolve().parent.parent
CHELSEA = REPO / "assets" / "chelsea.jpg"  # 451 × 300 px, landscape


# --- the shape rule ----------------------------------------------------------------------

@seed(8)
@settings(max_examples=200, deadline=None)
@given(width=st.integers(1, 6000), height=st.integers(1, 6000), longer=st.integers(32, 1536))
def test_aspect_shape_keeps_the_ratio_with_the_longer_side_n(width: int, height: int, longer: int) -> None:
    shape_height, shape_width = aspect_shape((width, height), longer)
    assert max(shape_height, shape_width) == longer
    assert (shape_width >= shape_height) == (width >= height)
    short, long_side = sorted((width, height))
    expected_short = longer * short / long_side
    assert abs(min(shape_height, shape_width) - max(1.0, expected_short)) <= 0.5 + 1e-9


def test_aspect_shape_of_the_bundled_photo_and_its_errors() -> None:
    assert aspect_shape((451, 300), 224) == (149, 224)
    assert aspect_shape((300, 451), 224) == (224, 149)
    assert aspect_shape((500, 500), 96) == (96, 96)
    with pytest.raises(ValueError, match="positive"):
        aspect_shape((0, 10), 224)


# --- state and geometry ------------------------------------------------------------------

def test_a_landscape_state_resolves_to_the_geometry_of_its_shape() -> None:
    state = ExplorerState(img_size=224, img_shape=(149, 224), keep_aspect=True)
    resolved = resolve(state)
    assert resolved.image_shape == (149, 224) == input_shape(state)
    expected = stage_geometry(resolved.config, 149, 224)
    assert [(g.height, g.width, g.padded_height, g.padded_width) for g in resolved.geometries] == [
        (g.height, g.width, g.padded_height, g.padded_width) for g in expected]
    assert resolved.geometries[0].height == 38 and resolved.geometries[0].width == 56
    assert "149×224 (H×W)" in " ".join(resolved.caption_parts())
    assert "img_shape" in MODEL_FIELDS  # another shape needs another model run


def test_the_query_follows_the_same_image_point_to_a_new_shape() -> None:
    old = resolve(ExplorerState(img_size=224, query=(20, 40))).state
    new = settle(old, old.replace(img_shape=(112, 224)))
    assert new.query == (10, 40)  # rows halve, columns stay


def test_the_padding_is_drawn_on_the_short_side() -> None:
    resolved = resolve(ExplorerState(img_size=224, img_shape=(149, 224)))
    geometry = resolved.geometry
    rects = padding_rects(resolved.image_shape, geometry.padded_height * 4, geometry.padded_width * 4)
    assert rects.tolist() == [[0.0, 149.0, 224.0, geometry.padded_height * 4 - 149.0]]


# --- views -------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(149, 224), (224, 149)])
def test_every_figure_draws_a_non_square_input_with_its_padding(qapp: QtWidgets.QApplication,
                                                                 shape: tuple[int, int]) -> None:
    state = ExplorerState(img_size=224, img_shape=shape, keep_aspect=True)
    prepared = prepare(load_image(CHELSEA), shape)
    views = build_figures(state, prepared, None, names=FIGURE_NAMES)
    try:
        height, width = shape
        text = f"{height}×{width} (H×W)"
        for name, view in views.items():
            assert text in view.caption(), name
        for name, extent in (("patches", 4), ("windows", 7 * 4)):  # patch grid; window grid
            layer = views[name].photo
            padded = (-(-height // extent) * extent, -(-width // extent) * extent)
            padding = layer.padding_area().boundingRect()
            if height < width:  # the bottom strip: below the photo, the whole padded width
                assert (padding.top(), padding.bottom(), padding.width()) == (height, *padded), name
            else:  # the right strip
                assert (padding.left(), padding.right(), padding.height()) == (width, padded[1], padded[0])
            photo = layer.panel.image.image
            assert photo.shape[:2] == padded, name
            np.testing.assert_array_equal(photo[:height, :width], prepared.display)
    finally:
        dispose_views(views)


def test_a_photo_prepared_for_another_size_is_stretched_over_the_new_grid(qapp: QtWidgets.QApplication
                                                                         ) -> None:
    old = prepare(load_image(CHELSEA), (64, 96))
    views = build_figures(ExplorerState(img_size=1024, img_shape=(681, 1024)), old, None, names=("patches",))
    try:
        layer = views["patches"].photo
        extent = (684, 1024)  # 171 × 256 patches of 4 px
        drawn = layer.panel.image.image
        assert drawn.shape[:2] == (round(684 * 64 / 681), 96)  # drawn at the old photo's resolution
        np.testing.assert_array_equal(drawn[:64], old.display)
        rect = layer.panel.image.boundingRect()
        rect = layer.panel.image.mapRectToParent(rect)
        assert (rect.width(), rect.height()) == (extent[1], extent[0])  # stretched over the new grid
        assert layer.padding_area().boundingRect().top() == 681  # the new padding, exactly
    finally:
        dispose_views(views)


# --- controller ----------------------------------------------------------------------------

class _RecordingRunner:
    """Answers every request at once with an empty result; remembers the pixels' shapes."""

    def __init__(self) -> None:
        self.shapes: list[tuple[int, ...]] = []

    def __call__(self, request: InferenceRequest, cache: object, cancelled: object) -> InferenceResult:
        self.shapes.append(tuple(request.pixels.shape))
        return InferenceResult(request_id=request.request_id, state=request.state)


@pytest.fixture
def runner() -> _RecordingRunner:
    return _RecordingRunner()


@pytest.fixture
def controller(qtbot, runner: _RecordingRunner) -> Controller:
    made = Controller(runner=runner, debounce_ms=10)
    with qtbot.waitSignal(made.ready, timeout=60_000):
        made.start()
    yield made
    assert made.shutdown()


def test_keep_aspect_gives_the_photo_its_shape_and_back(controller: Controller) -> None:
    image = load_image(CHELSEA)
    controller.update(img_size=96)
    controller.set_image(image, "chelsea")
    assert controller.prepared.shape == (96, 96)
    controller.update(keep_aspect=True)
    assert controller.state.img_shape == aspect_shape(image.size, 96) == (64, 96)
    assert controller.prepared.shape == (64, 96)
    np.testing.assert_array_equal(controller.prepared.display, prepare(image, (64, 96)).display)
    controller.update(img_size=128)
    assert controller.state.img_shape == (85, 128)
    controller.update(keep_aspect=False)
    assert controller.state.img_shape is None and controller.prepared.shape == (128, 128)


def test_an_explicit_shape_stays_until_the_size_is_set(controller: Controller) -> None:
    controller.set_image(load_image(CHELSEA), "chelsea")
    controller.update(img_shape=(64, 80))
    assert (controller.state.img_size, controller.prepared.shape) == (80, (64, 80))
    controller.update(stage=1, block=0)
    assert controller.state.img_shape == (64, 80)
    controller.update(img_size=96)
    assert controller.state.img_shape is None and controller.prepared.shape == (96, 96)


def test_a_portrait_photo_opened_with_keep_aspect_is_tall(controller: Controller) -> None:
    controller.update(img_size=64, keep_aspect=True)
    portrait = Image.fromarray(np.zeros((120, 40, 3), dtype=np.uint8))
    controller.set_image(portrait, "tall")
    assert controller.state.img_shape == (64, 21) and controller.prepared.shape == (64, 21)


def test_a_large_input_is_prepared_in_the_background(qtbot, controller: Controller,
                                                    runner: _RecordingRunner) -> None:
    image = load_image(CHELSEA)
    controller.update(img_size=96, keep_aspect=True)
    controller.set_image(image, "chelsea")
    assert not prepares_quickly(image.size, (1024, 1024))
    shown: list[tuple] = []
    controller.stateChanged.connect(lambda resolved, prepared: shown.append((resolved.image_shape,
                                                                            prepared.shape)))
    controller.update(img_size=1024)
    assert controller.preparing
    assert shown == [((681, 1024), (64, 96))]  # the new geometry at once, over the old photo
    assert controller.run_now() is None  # no run on pixels of the wrong size
    qtbot.waitUntil(lambda: not controller.preparing, timeout=30_000)
    assert shown[-1] == ((681, 1024), (681, 1024))
    np.testing.assert_array_equal(controller.prepared.pixels, prepare(image, (681, 1024)).pixels)
    qtbot.waitUntil(lambda: (3, 681, 1024) in runner.shapes, timeout=30_000)  # then it runs
    assert all(shape in ((3, 64, 96), (3, 681, 1024)) for shape in runner.shapes)


def test_only_the_newest_preparation_is_kept(qtbot, controller: Controller) -> None:
    image = load_image(CHELSEA)
    controller.set_image(image, "chelsea")
    for size in (1024, 1536, 800):
        controller.update(img_size=size)
    qtbot.waitUntil(lambda: not controller.preparing, timeout=30_000)
    qtbot.wait(50)  # a superseded result, if any, arrives and is dropped
    assert controller.prepared.shape == (800, 800) == controller.resolved.image_shape


# --- command line and export job ------------------------------------------------------------

def _main(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(REPO / "main.py"), *arguments], capture_output=True,
                          text=True, timeout=300, cwd=REPO)


def test_flops_takes_width_by_height() -> None:
    done = _main("flops", "--img-size", "320x224", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["img_height"], summary["img_width"], summary["img_size"]) == (224, 320, 320)
    assert summary["total_macs"] == count_macs(preset("swin-t"), 224, 320).total
    table = _main("flops", "--img-size", "320×224")
    assert table.returncode == 0 and "at 224×320" in table.stdout


@pytest.mark.parametrize("size", ["320x", "x224", "0x64", "2000x100", "3x4x5", "big"])
def test_bad_sizes_are_refused(size: str) -> None:
    done = _main("flops", "--img-size", size)
    assert done.returncode == 2
    assert "--img-size" in done.stderr and "Traceback" not in done.stderr


def test_export_keeps_the_aspect_ratio(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = _main("export", str(CHELSEA), "--out", str(out), "--img-size", "96", "--keep-aspect",
                 "--figures", "attention", "--format", "svg")
    assert done.returncode == 0, done.stderr
    assert "(64×96, H×W)" in done.stderr  # the model ran on a 64 × 96 input
    assert "64×96 (H×W)" in (out / "attention.svg").read_text(encoding="utf-8")
    both = _main("export", str(CHELSEA), "--out", str(tmp_path / "x"), "--img-size", "96x64",
                 "--keep-aspect")
    assert both.returncode == 2 and "--keep-aspect" in both.stderr
    assert not (tmp_path / "x").exists()


def test_the_export_job_passes_the_shape_as_width_by_height() -> None:
    request = ExportRequest(options=ExportOptions())
    state = ExplorerState(img_size=224, img_shape=(149, 224), keep_aspect=True)
    arguments = export_arguments(state, CHELSEA, Path("out"), request)
    assert arguments[arguments.index("--img-size") + 1] == "224x149"
    square = export_arguments(ExplorerState(img_size=96), CHELSEA, Path("out"), request)
    assert square[square.index("--img-size") + 1] == "96"
