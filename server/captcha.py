"""Image captchas: 4 characters without look-alikes, drawn with distortion and noise (Pillow)."""

from __future__ import annotations

import io
import secrets

from PIL import Image, ImageDraw, ImageFilter, ImageFont

ALPHABET = "ACDEFGHJKLMNPQRTUVWXY34679"  # no 0/O, 1/I/L, 2/Z, 5/S, 8/B look-alikes
LENGTH = 4
WIDTH, HEIGHT = 132, 48


def new_answer() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def render(answer: str) -> bytes:
    """PNG of ``answer``; every call draws a different image."""
    rng = secrets.SystemRandom()
    image = Image.new("RGB", (WIDTH, HEIGHT), (246, 248, 252))
    draw = ImageDraw.Draw(image)
    for _ in range(6):  # noise lines
        draw.line(
            [(rng.randint(0, WIDTH), rng.randint(0, HEIGHT)), (rng.randint(0, WIDTH), rng.randint(0, HEIGHT))],
            fill=(rng.randint(120, 200), rng.randint(120, 200), rng.randint(120, 200)),
            width=1,
        )
    font = ImageFont.load_default(size=30)
    x = 8
    for char in answer:
        glyph = Image.new("RGBA", (40, 44), (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text(
            (6, 2), char, font=font, fill=(rng.randint(10, 90), rng.randint(30, 90), rng.randint(90, 160))
        )
        glyph = glyph.rotate(rng.uniform(-25, 25), resample=Image.Resampling.BICUBIC, expand=False)
        image.paste(glyph, (x, rng.randint(-2, 6)), glyph)
        x += rng.randint(26, 31)
    for _ in range(120):  # noise dots
        draw.point((rng.randint(0, WIDTH - 1), rng.randint(0, HEIGHT - 1)), fill=(rng.randint(0, 255),) * 3)
    image = image.filter(ImageFilter.SMOOTH)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
