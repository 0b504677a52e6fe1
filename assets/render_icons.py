"""Render the tray icons into this folder, assets/ (run after changing tray/icons.py).

Writes `assets/{state}-{size}.png` for every state and size in
`icons.ASSET_SIZES`, one multi-size `{state}.ico` (Windows) and `{state}.icns` (macOS) per
state, and `preview.png`: every state at every size on a light and a dark strip, for a person
to look at. This folder is the only copy: pyproject.toml packages it as `aws_sso_tray.assets`,
which importlib.resources loads at run time and the wheel ships.

    python assets/render_icons.py [--check]

`--check` renders in memory and exits 1 when a shipped PNG differs (for CI).
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from PIL import Image

from aws_sso_tray.tray.icons import ASSET_SIZES, IconState, asset_name, draw_icon

ASSETS = Path(__file__).resolve().parent
ICO_SIZES = (16, 24, 32, 48, 64, 256)
PREVIEW_BACKGROUNDS = ((245, 245, 245), (40, 40, 44), (0, 0, 0))


def _png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def render(target: Path) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for state in IconState:
        images = {size: draw_icon(state, size) for size in ASSET_SIZES}
        for size, image in images.items():
            path = target / asset_name(state, size)
            path.write_bytes(_png_bytes(image))
            written.append(path)
        largest = images[max(ASSET_SIZES)]
        ico = target / f"{state.value}.ico"
        largest.save(ico, format="ICO", sizes=[(s, s) for s in ICO_SIZES])
        icns = target / f"{state.value}.icns"
        largest.resize((512, 512), Image.Resampling.LANCZOS).save(icns, format="ICNS")
        written += [ico, icns]
    preview = target / "preview.png"
    _preview().save(preview)
    written.append(preview)
    return written


def _preview() -> Image.Image:
    """Each background is a strip; each state a column of sizes 16..64."""
    sizes = [s for s in ASSET_SIZES if s <= 64]
    cell = 72
    width = cell * len(IconState)
    height = cell * len(sizes)
    sheet = Image.new("RGB", (width * len(PREVIEW_BACKGROUNDS), height))
    for b, colour in enumerate(PREVIEW_BACKGROUNDS):
        strip = Image.new("RGBA", (width, height), (*colour, 255))
        for i, state in enumerate(IconState):
            for j, size in enumerate(sizes):
                icon = draw_icon(state, size)
                strip.alpha_composite(icon, (i * cell + (cell - size) // 2, j * cell + 4))
        sheet.paste(strip.convert("RGB"), (b * width, 0))
    return sheet


def check(target: Path) -> list[str]:
    stale = []
    for state in IconState:
        for size in ASSET_SIZES:
            path = target / asset_name(state, size)
            wanted = draw_icon(state, size)
            try:
                shipped = Image.open(path).convert("RGBA")
            except OSError:
                stale.append(f"{path}: missing")
                continue
            if shipped.tobytes() != wanted.tobytes():
                stale.append(f"{path}: differs from tray/icons.py")
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare, write nothing")
    parser.add_argument("--out", type=Path, default=ASSETS, help="target folder")
    args = parser.parse_args(argv)
    if args.check:
        stale = check(args.out)
        for line in stale:
            print(line, file=sys.stderr)
        if stale:
            print("run: python assets/render_icons.py", file=sys.stderr)
        return 1 if stale else 0
    for path in render(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
