"""The tray icons: every state ships at every size, and states differ by shape, not only colour."""

from __future__ import annotations

import subprocess
import sys
from itertools import combinations
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from aws_sso_tray.tray.icons import ASSET_SIZES, IconState, asset_name, draw_icon, load_icon

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"


def _mask(image: Image.Image) -> Image.Image:
    """The silhouette: where the icon is (alpha), thresholded."""
    return image.getchannel("A").point(lambda a: 255 if a >= 128 else 0)


def _fraction_different(a: Image.Image, b: Image.Image) -> float:
    diff = ImageChops.difference(a, b)
    histogram = diff.histogram()
    changed = sum(histogram[64:])
    return changed / (a.width * a.height)


@pytest.mark.parametrize("size", [16, 22, 32])
def test_states_differ_by_silhouette_alone(size: int) -> None:
    # A monochrome panel (or a colour-blind person) sees only shapes: compare alpha masks.
    masks = {state: _mask(draw_icon(state, size)) for state in IconState}
    for a, b in combinations(IconState, 2):
        assert _fraction_different(masks[a], masks[b]) > 0.08, (a, b, size)


@pytest.mark.parametrize("size", [16, 32])
def test_states_differ_in_greyscale(size: int) -> None:
    def grey(state: IconState) -> Image.Image:
        canvas = Image.new("RGBA", (size, size), (128, 128, 128, 255))
        canvas.alpha_composite(draw_icon(state, size))
        return canvas.convert("L")

    images = {state: grey(state) for state in IconState}
    for a, b in combinations(IconState, 2):
        assert _fraction_different(images[a], images[b]) > 0.1, (a, b)


@pytest.mark.parametrize("background", [(250, 250, 250), (30, 30, 32), (0, 0, 0)])
@pytest.mark.parametrize("state", list(IconState))
def test_readable_on_light_and_dark_panels(state: IconState, background: tuple[int, ...]) -> None:
    size = 22
    panel = Image.new("RGBA", (size, size), (*background, 255))
    shown = panel.copy()
    shown.alpha_composite(draw_icon(state, size))
    diff = ImageChops.difference(shown.convert("L"), panel.convert("L"))
    # A good share of the icon's area stands clearly apart from the panel.
    clear = sum(diff.histogram()[60:])
    assert clear / (size * size) > 0.2, (state, background)


def test_small_sizes_have_solid_pixels_not_mush() -> None:
    # Crisp at 16 px: most covered pixels are fully opaque (edges only are anti-aliased).
    for state in IconState:
        alpha = draw_icon(state, 16).getchannel("A")
        histogram = alpha.histogram()
        opaque, partial = histogram[255], sum(histogram[1:255])
        assert opaque > partial, state


def test_every_state_ships_at_every_size_and_matches_the_drawing() -> None:
    for state in IconState:
        for size in ASSET_SIZES:
            path = ASSETS / asset_name(state, size)
            shipped = Image.open(path).convert("RGBA")
            assert shipped.size == (size, size)
            assert shipped.tobytes() == draw_icon(state, size).tobytes(), (
                f"{path} is stale: run assets/render_icons.py"
            )
        assert (ASSETS / f"{state.value}.ico").stat().st_size > 0
        assert (ASSETS / f"{state.value}.icns").stat().st_size > 0


def test_ico_and_icns_hold_the_sizes_a_platform_asks_for() -> None:
    ico = Image.open(ASSETS / "ok.ico")
    assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= set(ico.info["sizes"])
    icns = Image.open(ASSETS / "ok.icns")
    assert icns.size[0] >= 256


def test_load_icon_reads_the_package_resource_and_draws_unshipped_sizes() -> None:
    shipped = load_icon(IconState.ERROR, 32)
    assert shipped.tobytes() == Image.open(ASSETS / "error-32.png").convert("RGBA").tobytes()
    odd = load_icon(IconState.ERROR, 20)
    assert odd.size == (20, 20)


def test_render_script_check_passes_on_the_committed_assets(tmp_path: Path) -> None:
    script = ROOT / "assets" / "render_icons.py"
    ok = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    # And it notices a stale or missing asset.
    bad = subprocess.run(
        [sys.executable, str(script), "--check", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1
    assert "missing" in bad.stderr


# --- one home for the icons: the top-level assets/, packaged as aws_sso_tray/assets ---------------


def test_assets_live_only_in_the_top_level_folder() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "*.png", "*.ico", "*.icns", "*render_icons.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    icons = [name for name in tracked if not name.startswith("docs/")]
    assert icons, "no icon files tracked"
    assert all(name.startswith("assets/") for name in icons), icons
    assert "assets/render_icons.py" in icons


def test_this_install_loads_the_shipped_files_through_importlib_resources() -> None:
    # The venv's install (editable in development) maps the package to the top-level folder.
    from importlib.resources import files

    resources = files("aws_sso_tray.assets")
    for state in IconState:
        for size in ASSET_SIZES:
            name = asset_name(state, size)
            assert resources.joinpath(name).read_bytes() == (ASSETS / name).read_bytes(), name


def test_the_wheel_ships_every_icon_where_importlib_resources_finds_them(tmp_path: Path) -> None:
    import zipfile

    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = tmp_path.glob("aws_sso_tray-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = {f"aws_sso_tray/assets/{asset_name(s, n)}" for s in IconState for n in ASSET_SIZES}
    wanted |= {f"aws_sso_tray/assets/{s.value}.{ext}" for s in IconState for ext in ("ico", "icns")}
    assert wanted <= names, sorted(wanted - names)
    # Installed from the wheel (no source tree in sight), the icons load as package resources.
    target = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    probe = (
        "from importlib.resources import files; import aws_sso_tray.tray.icons as i, sys; "
        "assert 'site' in str(files('aws_sso_tray.assets')), files('aws_sso_tray.assets'); "
        "print(len(files('aws_sso_tray.assets').joinpath('ok-32.png').read_bytes()))"
    )
    loaded = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(target)!r}); {probe}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert loaded.returncode == 0, loaded.stderr
    assert int(loaded.stdout) == (ASSETS / "ok-32.png").stat().st_size
