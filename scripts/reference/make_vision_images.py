#!/usr/bin/python3
"""Generate the small test images under tests/data/images/ (run with Debian's /usr/bin/python3).

decode/   one image per format/mode + <name>.expected.png: what the decoder must return as RGB uint8
          (Pillow's decode + convert("RGB"); EXIF orientation applied; 16-bit → high byte).
resize/   source images + <name>.pil384.png: the 384×384 square Janus preprocessing builds with Pillow
          (Image.resize(BICUBIC) to facts §4.1 dims, pasted centred on (127,127,127)), the resized
          image sits at offset ((384 − w')//2, (384 − h')//2).
bad/      malformed files: truncated, corrupt, 0×0, huge header, unsupported, empty.
Deterministic (fixed numpy seed). Re-run: /usr/bin/python3 scripts/reference/make_vision_images.py
"""
import io
import os
import struct
import zlib

import numpy as np
from PIL import Image, ImageOps

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "images")
rng = np.random.default_rng(1234)


def scene(w, h, noise=12):
    """Smooth gradients + a few shapes + mild noise: realistic for resampling, compresses well."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(x / max(w, 1) * 6.0) * np.cos(y / max(h, 1) * 3.0)
    g = 255 * x / max(w - 1, 1)
    b = 255 * (1 - y / max(h - 1, 1))
    img = np.stack([r, g, b], -1)
    # hard edges (ringing / clamping in bicubic)
    img[(x - w * 0.3) ** 2 + (y - h * 0.6) ** 2 < (min(w, h) * 0.2) ** 2] = [255, 255, 255]
    img[int(h * 0.1):int(h * 0.3) + 1, int(w * 0.55):int(w * 0.8) + 1] = [0, 0, 0]
    img += rng.normal(0, noise, img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def save_expected(d, name, rgb):
    Image.fromarray(np.ascontiguousarray(rgb), "RGB").save(os.path.join(d, name + ".expected.png"))


def make_decode():
    d = os.path.join(ROOT, "decode")
    os.makedirs(d, exist_ok=True)
    rgb = scene(37, 23)
    a = (np.arange(37 * 23) % 251).astype(np.uint8).reshape(23, 37)
    gray = rgb[..., 1].copy()

    def png(name, im, expected):
        im.save(os.path.join(d, name))
        save_expected(d, name, expected)

    png("rgb8.png", Image.fromarray(rgb, "RGB"), rgb)
    png("rgba8.png", Image.fromarray(np.dstack([rgb, a]), "RGBA"), rgb)  # alpha dropped, not composited
    png("gray8.png", Image.fromarray(gray, "L"), np.dstack([gray] * 3))
    png("graya8.png", Image.fromarray(np.dstack([gray, a]), "LA"), np.dstack([gray] * 3))
    pal = Image.fromarray(rgb, "RGB").quantize(colors=16)
    png("palette.png", pal, np.asarray(pal.convert("RGB")))
    # 16-bit gray and RGB PNG written by hand (Pillow cannot write 16-bit RGB).
    g16 = (gray.astype(np.uint16) << 8) | (255 - gray).astype(np.uint16)
    rgb16 = (rgb.astype(np.uint16) << 8) | rng.integers(0, 256, rgb.shape).astype(np.uint16)
    for name, arr, ctype, exp in [("gray16.png", g16, 0, np.dstack([gray] * 3)), ("rgb16.png", rgb16, 2, rgb)]:
        h, w = arr.shape[:2]
        raw = b"".join(b"\x00" + arr[yy].astype(">u2").tobytes() for yy in range(h))

        def chunk(t, data):
            return struct.pack(">I", len(data)) + t + data + struct.pack(">I", zlib.crc32(t + data) & 0xFFFFFFFF)
        blob = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, ctype, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
        open(os.path.join(d, name), "wb").write(blob)
        save_expected(d, name, exp)
    # Lossless others.
    png("rgb.bmp", Image.fromarray(rgb, "RGB"), rgb)
    Image.fromarray(rgb, "RGB").save(os.path.join(d, "rgb.webp"), lossless=True)
    save_expected(d, "rgb.webp", rgb)
    Image.fromarray(rgb, "RGB").save(os.path.join(d, "rgb.tiff"), compression="tiff_deflate")
    save_expected(d, "rgb.tiff", rgb)
    Image.fromarray(np.dstack([rgb, a]), "RGBA").save(os.path.join(d, "rgba.tiff"))
    # OpenCV reads RGBA TIFF through libtiff's RGBA reader, which premultiplies unassociated alpha
    # (documented difference from Pillow, which just drops alpha): expect round(rgb · a / 255).
    save_expected(d, "rgba.tiff", ((rgb.astype(np.uint32) * a[..., None] + 127) // 255).astype(np.uint8))
    # JPEG: expected = Pillow's own decode (same libjpeg; the test allows a small difference).
    for name, im, kw in [("rgb.jpg", Image.fromarray(rgb, "RGB"), {}),
                         ("gray.jpg", Image.fromarray(gray, "L"), {}),
                         ("cmyk.jpg", Image.fromarray(rgb, "RGB").convert("CMYK"), {})]:
        im.save(os.path.join(d, name), quality=95, **kw)
        save_expected(d, name, np.asarray(Image.open(os.path.join(d, name)).convert("RGB")))
    # EXIF orientation 6 (rotate 90° clockwise to display) and 3 (180°).
    for o in (3, 6):
        ex = Image.Exif()
        ex[0x0112] = o
        name = "exif%d.jpg" % o
        Image.fromarray(rgb, "RGB").save(os.path.join(d, name), quality=95, exif=ex.tobytes())
        save_expected(d, name, np.asarray(ImageOps.exif_transpose(Image.open(os.path.join(d, name))).convert("RGB")))


def janus_dims(w, h, size=384, min_size=14):
    m = max(w, h)
    return max(int(w / m * size), min_size), max(int(h / m * size), min_size)


def make_resize():
    d = os.path.join(ROOT, "resize")
    os.makedirs(d, exist_ok=True)
    # downscale (large factor, odd factor), upscale, one side unchanged, tall thin (min_size), exact.
    for (w, h) in [(512, 320), (451, 300), (97, 61), (384, 200), (20, 700), (1023, 17)]:
        src = Image.fromarray(scene(w, h, noise=2), "RGB")
        name = "src_%dx%d" % (w, h)
        src.save(os.path.join(d, name + ".png"))
        nw, nh = janus_dims(w, h)
        res = src.resize((nw, nh), Image.BICUBIC)
        sq = Image.new("RGB", (384, 384), (127, 127, 127))
        sq.paste(res, ((384 - nw) // 2, (384 - nh) // 2))
        sq.save(os.path.join(d, name + ".pil384.png"))


def make_bad():
    d = os.path.join(ROOT, "bad")
    os.makedirs(d, exist_ok=True)
    rgb = scene(64, 48)
    buf = io.BytesIO(); Image.fromarray(rgb).save(buf, "PNG"); png = buf.getvalue()
    buf = io.BytesIO(); Image.fromarray(rgb).save(buf, "JPEG", quality=90); jpg = buf.getvalue()
    buf = io.BytesIO(); Image.fromarray(rgb).save(buf, "WEBP", quality=80); webp = buf.getvalue()
    buf = io.BytesIO(); Image.fromarray(rgb).save(buf, "BMP"); bmp = buf.getvalue()
    files = {
        "truncated.png": png[: len(png) // 2],
        "truncated.jpg": jpg[: len(jpg) // 2],
        "truncated.webp": webp[: len(webp) // 2],
        "truncated.bmp": bmp[: len(bmp) // 2],
        "header_only.png": png[:20],
        "empty.png": b"",
        "garbage.png": b"\x89PNG\r\n\x1a\n" + bytes(rng.integers(0, 256, 300, dtype=np.uint8)),
        "unsupported.gif": b"GIF89a" + bytes(40),
        "text.jpg": b"this is not an image at all\n" * 4,
    }
    # Valid chunk structure but corrupt compressed data (CRCs fixed up so only zlib fails).
    def chunk(t, data):
        return struct.pack(">I", len(data)) + t + data + struct.pack(">I", zlib.crc32(t + data) & 0xFFFFFFFF)
    ihdr = lambda w, h: chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    sig = b"\x89PNG\r\n\x1a\n"
    files["corrupt_idat.png"] = sig + ihdr(64, 48) + chunk(b"IDAT", b"\x78\x9c" + bytes(range(200))) + chunk(b"IEND", b"")
    files["zero.png"] = sig + ihdr(0, 0) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")
    # 100000 × 100000 announced, a few bytes of data: must be refused before decoding.
    files["huge.png"] = sig + ihdr(100000, 100000) + chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(b"IEND", b"")
    # JPEG whose SOF says 60000×60000.
    i = jpg.find(b"\xff\xc0")
    files["huge.jpg"] = jpg[: i + 5] + struct.pack(">HH", 60000, 60000) + jpg[i + 9:]
    for name, blob in files.items():
        open(os.path.join(d, name), "wb").write(blob)


if __name__ == "__main__":
    make_decode()
    make_resize()
    make_bad()
    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(ROOT) for f in fs)
    print("wrote tests/data/images (%d KiB)" % (total // 1024))
