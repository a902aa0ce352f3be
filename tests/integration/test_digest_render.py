"""The HTML digest rendered by headless Chromium, in light and dark mode, is a real page and not blank.

PNGs are decoded with the standard library (zlib + the five PNG row filters, RFC 2083 §6), so the test needs
no imaging package. Set INTROD_UPDATE_SCREENSHOT=1 to refresh docs/digest.png.
"""

from __future__ import annotations

import io
import os
import shutil
import struct
import subprocess
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import IN_CI

from introd.demo import DEMO_NOW, run_demo
from introd.digest import render_html

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DOCS_PNG = Path(__file__).resolve().parents[2] / "docs" / "digest.png"
WIDTH, HEIGHT = 420, 900  # a phone-sized window


@pytest.fixture(scope="module")
def chromium() -> str:
    """The Chromium binary; missing fails under CI and skips elsewhere."""
    if not os.path.exists(CHROMIUM):
        message = "Chromium is not installed (apt-get install chromium, or run `make test`)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="module")
def digest_html(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The demo mailbox's digest (every section filled) as an HTML file."""
    from introd.config import load_config
    from introd.digest_run import build_for
    from introd.store import StateStore

    target = tmp_path_factory.mktemp("render") / "demo"
    assert run_demo(target, io.StringIO()) == 0
    config = load_config(target / "config.toml")
    state = StateStore(config.state.path)
    try:
        page = render_html(build_for(config, state, config.accounts[0], DEMO_NOW))
    finally:
        state.close()
    path = target / "digest.html"
    path.write_text(page, "utf-8")
    yield path


def screenshot(chromium: str, page: Path, png: Path, profile: Path, *, dark: bool,
               size: tuple[int, int] = (WIDTH, HEIGHT)) -> None:
    """Render ``page`` to ``png``; prefers-color-scheme is set through Blink's settings (0 = dark, 1 = light)."""
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", f"--screenshot={png}", f"--window-size={size[0]},{size[1]}",
           f"--blink-settings=preferredColorScheme={0 if dark else 1}", "--hide-scrollbars", page.as_uri()]
    done = subprocess.run(cmd, capture_output=True, timeout=60, check=False, env={**os.environ, "HOME": str(profile)})
    assert done.returncode == 0 and png.is_file(), done.stderr.decode("utf-8", "replace")[-2000:]


def decode_png(data: bytes) -> tuple[int, int, list[bytes], int]:
    """(width, height, unfiltered rows, bytes per pixel) of an 8-bit, non-interlaced RGB or RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, []
    width = height = depth = color = interlace = 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, color, _c, _f, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    assert depth == 8 and interlace == 0 and color in (2, 6), (depth, color, interlace)
    bpp = 3 if color == 2 else 4
    raw, stride = zlib.decompress(b"".join(idat)), width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        if kind == 1:  # Sub
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif kind == 2:  # Up
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev, strict=True))
        elif kind == 3:  # Average
            for i in range(stride):
                line[i] = (line[i] + (((line[i - bpp] if i >= bpp else 0) + prev[i]) >> 1)) & 0xFF
        elif kind == 4:  # Paeth
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, rows, bpp


def luminance(rows: list[bytes], bpp: int) -> list[float]:
    """Per-pixel luma (ITU-R BT.601), every pixel."""
    out = []
    for row in rows:
        for i in range(0, len(row), bpp):
            out.append(0.299 * row[i] + 0.587 * row[i + 1] + 0.114 * row[i + 2])
    return out


def stats(png: Path) -> dict[str, float]:
    width, height, rows, bpp = decode_png(png.read_bytes())
    lum = luminance(rows, bpp)
    mean = sum(lum) / len(lum)
    variance = sum((v - mean) ** 2 for v in lum) / len(lum)
    colours = {row[i:i + 3] for row in rows[::7] for i in range(0, len(row), bpp * 5)}
    corner = rows[2][2 * bpp:2 * bpp + 3]
    return {"width": width, "height": height, "mean": mean, "variance": variance, "colours": len(colours),
            "background": 0.299 * corner[0] + 0.587 * corner[1] + 0.114 * corner[2],
            "dark_share": sum(1 for v in lum if v < 100) / len(lum)}


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_digest_renders_in_chromium(chromium: str, digest_html: Path, tmp_path: Path, dark: bool) -> None:
    """The phone-sized screenshot has text on a background of the mode's colour, not a blank page."""
    png = tmp_path / ("dark.png" if dark else "light.png")
    screenshot(chromium, digest_html, png, tmp_path / "profile", dark=dark)
    s = stats(png)
    assert (s["width"], s["height"]) == (WIDTH, HEIGHT)
    assert s["variance"] > 200, s  # a blank page has ~0
    assert s["colours"] > 30, s  # anti-aliased text, cards, accents
    if dark:
        assert s["background"] < 60 and s["mean"] < 110, s
    else:
        assert s["background"] > 200 and s["mean"] > 170, s
    # Text is a minority of the pixels in either mode: the page is not inverted or unstyled.
    assert (s["dark_share"] > 0.6) if dark else (0.005 < s["dark_share"] < 0.3), s
    if os.environ.get("INTROD_UPDATE_SCREENSHOT") and not dark:
        screenshot(chromium, digest_html, DOCS_PNG, tmp_path / "docs-profile", dark=False, size=(640, 1400))
