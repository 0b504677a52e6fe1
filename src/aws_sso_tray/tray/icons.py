"""The tray icon's five looks, drawn with Pillow, and loading the pre-rendered ones.

Each state has its own silhouette as well as its own colour, so it reads on a monochrome panel
and for colour-blind people:

| state        | shape                           | colour |
|--------------|---------------------------------|--------|
| ok           | disc with a check mark          | green  |
| expiring     | warning triangle with a `!`     | amber  |
| login_needed | padlock with a keyhole          | blue   |
| error        | diamond with an `X`             | red    |
| busy         | hourglass                       | grey   |

Every shape has a dark outline and a light inner glyph (or the reverse on amber), so it stands
out on light and dark panels alike. Shapes are drawn at 4x and reduced with a box filter: crisp
edges with a little anti-aliasing, and strokes sized with a floor so they survive 16 px.

`assets/render_icons.py` writes the PNGs (and .ico / .icns) into the repository's top-level
`assets/`, packaged as `aws_sso_tray.assets`; `load_icon` reads them with `read_package_file`
and draws on the fly for a size not shipped.
PIL is imported inside functions: the CLI imports this package without needing it.
"""

from __future__ import annotations

import io
import logging
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL.Image import Image


log = logging.getLogger(__name__)


class IconState(str, Enum):
    OK = "ok"
    EXPIRING = "expiring"
    LOGIN_NEEDED = "login_needed"
    ERROR = "error"
    BUSY = "busy"


ASSET_SIZES: tuple[int, ...] = (16, 22, 24, 32, 48, 64, 256)
ASSETS_PACKAGE = "aws_sso_tray.assets"  # the top-level assets/ folder (pyproject package-dir)
TRAY_SIZE = 64  # what the tray is handed: panels scale it down to 16-32 px themselves

_SUPERSAMPLE = 4
_OUTLINE = (24, 24, 27, 255)  # near black: visible on light panels
_LIGHT = (255, 255, 255, 255)  # glyphs on the dark fills
_DARK = (24, 24, 27, 255)  # glyphs on the amber fill

_FILL: dict[IconState, tuple[int, int, int, int]] = {
    IconState.OK: (22, 163, 74, 255),  # green-600
    IconState.EXPIRING: (245, 166, 35, 255),  # amber
    IconState.LOGIN_NEEDED: (37, 99, 235, 255),  # blue-600
    IconState.ERROR: (220, 38, 38, 255),  # red-600
    IconState.BUSY: (148, 163, 184, 255),  # slate-400: light enough for dark panels
}


def asset_name(state: IconState, size: int) -> str:
    return f"{state.value}-{size}.png"


def draw_icon(state: IconState, size: int) -> Image:
    """A `size` x `size` RGBA image of `state`'s icon."""
    from PIL import Image

    big = size * _SUPERSAMPLE
    canvas = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    # Strokes in big-canvas pixels, never thinner than ~1.4 px once reduced.
    line = max(round(big * 0.09), round(1.4 * _SUPERSAMPLE))
    outline = max(round(big * 0.045), _SUPERSAMPLE)
    {
        IconState.OK: _ok,
        IconState.EXPIRING: _expiring,
        IconState.LOGIN_NEEDED: _login_needed,
        IconState.ERROR: _error,
        IconState.BUSY: _busy,
    }[state](canvas, big, line, outline)
    return canvas.resize((size, size), Image.Resampling.BOX)


def _draw(canvas: Image):  # type: ignore[no-untyped-def]
    from PIL import ImageDraw

    return ImageDraw.Draw(canvas)


def _ok(canvas: Image, big: int, line: int, outline: int) -> None:
    d = _draw(canvas)
    m = big * 0.04
    d.ellipse((m, m, big - m, big - m), fill=_FILL[IconState.OK], outline=_OUTLINE, width=outline)
    points = [(big * 0.27, big * 0.52), (big * 0.44, big * 0.68), (big * 0.74, big * 0.34)]
    d.line(points, fill=_LIGHT, width=line, joint="curve")
    r = line / 2
    for x, y in (points[0], points[-1]):  # round caps
        d.ellipse((x - r, y - r, x + r, y + r), fill=_LIGHT)


def _expiring(canvas: Image, big: int, line: int, outline: int) -> None:
    d = _draw(canvas)
    top, bottom, m = big * 0.03, big * 0.95, big * 0.02
    d.polygon(
        [(big / 2, top), (big - m, bottom), (m, bottom)],
        fill=_FILL[IconState.EXPIRING],
        outline=_OUTLINE,
        width=outline,
    )
    x = big / 2
    d.line([(x, big * 0.36), (x, big * 0.66)], fill=_DARK, width=line)
    r = line * 0.6
    d.ellipse((x - r, big * 0.80 - r, x + r, big * 0.80 + r), fill=_DARK)


def _login_needed(canvas: Image, big: int, line: int, outline: int) -> None:
    d = _draw(canvas)
    fill = _FILL[IconState.LOGIN_NEEDED]
    # Shackle: a thick arch above the body, outlined so it reads on light panels.
    sx0, sx1, sy0, sy1 = big * 0.26, big * 0.74, big * 0.04, big * 0.62
    shackle = max(line * 1.1, outline * 2.5)
    d.arc((sx0, sy0, sx1, sy1), 180, 360, fill=_OUTLINE, width=round(shackle + 2 * outline))
    d.arc(
        (sx0 + outline, sy0 + outline, sx1 - outline, sy1 - outline),
        180,
        360,
        fill=fill,
        width=round(shackle),
    )
    for x in (sx0, sx1 - shackle - 2 * outline):  # the straight legs down into the body
        d.rectangle((x, (sy0 + sy1) / 2, x + shackle + 2 * outline, big * 0.5), fill=_OUTLINE)
        d.rectangle(
            (x + outline, (sy0 + sy1) / 2, x + shackle + outline, big * 0.5),
            fill=fill,
        )
    d.rounded_rectangle(
        (big * 0.1, big * 0.42, big * 0.9, big * 0.97),
        radius=big * 0.08,
        fill=fill,
        outline=_OUTLINE,
        width=outline,
    )
    # Keyhole.
    cx, cy, r = big / 2, big * 0.62, big * 0.085
    d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=_LIGHT)
    d.polygon([(cx - r * 0.6, cy), (cx + r * 0.6, cy), (cx, big * 0.83)], fill=_LIGHT)
    d.line([(cx, cy), (cx, big * 0.83)], fill=_LIGHT, width=max(round(r * 1.1), 1))


def _error(canvas: Image, big: int, line: int, outline: int) -> None:
    d = _draw(canvas)
    # A diamond: its corners set it apart from the "ok" disc even as a bare silhouette.
    c, r = big / 2, big * 0.5 - outline / 2
    diamond = [(c, c - r), (c + r, c), (c, c + r), (c - r, c)]
    d.polygon(diamond, fill=_FILL[IconState.ERROR], outline=_OUTLINE, width=outline)
    a, b = big * 0.35, big * 0.65
    d.line([(a, a), (b, b)], fill=_LIGHT, width=line)
    d.line([(a, b), (b, a)], fill=_LIGHT, width=line)


def _busy(canvas: Image, big: int, line: int, outline: int) -> None:
    d = _draw(canvas)
    # An hourglass: "wait" without colour, a silhouette no other state has.
    top, bottom, left, right = big * 0.04, big * 0.96, big * 0.12, big * 0.88
    waist = big * 0.07
    d.polygon(
        [
            (left, top),
            (right, top),
            (big / 2 + waist, big / 2),
            (right, bottom),
            (left, bottom),
            (big / 2 - waist, big / 2),
        ],
        fill=_FILL[IconState.BUSY],
        outline=_OUTLINE,
        width=outline,
    )
    # Sand, white: light on dark panels where the outline disappears.
    inset = outline * 1.6
    d.polygon(
        [
            (big / 2, big * 0.62),
            (right - inset * 1.4, bottom - inset),
            (left + inset * 1.4, bottom - inset),
        ],
        fill=_LIGHT,
    )
    d.polygon(
        [
            (left + inset * 2.2, top + inset),
            (right - inset * 2.2, top + inset),
            (big / 2, big * 0.36),
        ],
        fill=_LIGHT,
    )


def load_icon(state: IconState, size: int = TRAY_SIZE) -> Image:
    """The shipped PNG for `state` at `size`, drawn on the fly when it is not shipped."""
    from PIL import Image

    from aws_sso_tray import read_package_file

    try:
        data = read_package_file(ASSETS_PACKAGE, asset_name(state, size))
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError, OSError) as exc:
        log.debug("icon %s not shipped (%s): drawn instead", asset_name(state, size), exc)
        return draw_icon(state, size)
    image = Image.open(io.BytesIO(data))
    image.load()
    return image.convert("RGBA")


__all__ = ["ASSET_SIZES", "TRAY_SIZE", "IconState", "asset_name", "draw_icon", "load_icon"]
