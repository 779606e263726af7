"""janus-shapes data: procedurally drawn shape images and their captions / prompts.

One sample = one filled shape on a flat background, drawn at S x S pixels (S = image size, default
64; any multiple of 16 works) as uint8 RGB [S, S, 3]. Shapes are drawn 4x supersampled with PIL and
box-downsampled (soft edges). Everything is a pure function of a numpy Generator, so a seed gives the
same images on every machine.

Spec fields: shape (SHAPES), color (COLORS, foreground), bg (COLORS, != color), size (SIZES),
pos (POSITIONS). Small/medium shapes go to any position, large ones only to the centre.

Text:
  caption(spec)       canonical full description, the understanding target:
                      "a small red circle at the top left on a blue background"
  random_prompt(...)  a text-to-image prompt naming a random subset of the attributes
                      ("a red circle", "A large yellow star on a black background.", ...)
  parse_caption(text) -> (color, shape, bg) named in a free text (for evaluation)
"""
import math

import numpy as np
from PIL import Image, ImageDraw

SHAPES = ["circle", "square", "triangle", "star", "cross"]
# Named colours with their RGB centre; drawn colours jitter around these. They sit near corners of the
# RGB cube on purpose, so that a decoder can reach them by driving each RGB channel towards 0 or 255 (the
# uint8 conversion clamps) rather than by exact levels, and so that they are far apart (>= 180 in RGB).
COLORS = {
    "red": (235, 20, 20),
    "green": (20, 200, 20),
    "blue": (20, 20, 235),
    "yellow": (235, 235, 20),
    "white": (235, 235, 235),
    "black": (20, 20, 20),
}
COLOR_NAMES = list(COLORS)
SIZES = {"small": 0.36, "medium": 0.50, "large": 0.70}  # bounding-box side / image side
# Jitter of draw(jitter=True): centre +-POS_JITTER of the side, scale x (1 +- SIZE_JITTER), colours
# +-COLOR_JITTER per channel. Small on purpose: a 16-px VQ patch must see nearly the same fragment for
# the same description, so that the image codes are predictable from the prompt; fresh draws still differ
# from every training draw.
POS_JITTER, SIZE_JITTER, COLOR_JITTER = 0.02, 0.04, 6
SIZE_NAMES = list(SIZES)
DEFAULT_SIZE = "medium"  # what a prompt without a size word means (train.py --prompt-defaults)
# Centres as fractions of the image side; "center" is the default position (no phrase).
POSITIONS = {
    "center": (0.5, 0.5),
    "top left": (0.28, 0.28),
    "top right": (0.72, 0.28),
    "bottom left": (0.28, 0.72),
    "bottom right": (0.72, 0.72),
}
POSITION_NAMES = list(POSITIONS)

QUESTIONS = [
    "Describe this image in detail.",
    "Describe this image.",
    "What is in this image?",
    "What is shown in this image?",
    "Describe the image.",
    "What do you see?",
]
# Default understanding system prompt of the reference (facts §3.4).
SYSTEM_PROMPT = (
    "You are a helpful language and vision assistant. You are able to understand the visual content "
    "that the user provides, and assist the user with a variety of tasks using natural language."
)


def random_spec(rng):
    shape = SHAPES[rng.integers(len(SHAPES))]
    color = COLOR_NAMES[rng.integers(len(COLOR_NAMES))]
    bg = color
    while bg == color:
        bg = COLOR_NAMES[rng.integers(len(COLOR_NAMES))]
    size = SIZE_NAMES[rng.integers(len(SIZE_NAMES))]
    pos = "center" if size == "large" else POSITION_NAMES[rng.integers(len(POSITION_NAMES))]
    return {"shape": shape, "color": color, "bg": bg, "size": size, "pos": pos}


def all_specs():
    """Every distinct spec (shape x colour x background != colour x size/position: 5 x 6 x 5 x 11 = 1650),
    in a fixed order; draw(spec, jitter=False) gives its canonical picture."""
    out = []
    for shape in SHAPES:
        for color in COLOR_NAMES:
            for bg in COLOR_NAMES:
                if bg == color:
                    continue
                for size in SIZE_NAMES:
                    for pos in (["center"] if size == "large" else POSITION_NAMES):
                        out.append({"shape": shape, "color": color, "bg": bg, "size": size, "pos": pos})
    return out


def _jitter_color(rgb, rng, amount):
    c = np.array(rgb, dtype=np.int32) + rng.integers(-amount, amount + 1, size=3)
    return tuple(int(v) for v in np.clip(c, 0, 255))


def shape_polygon(shape, cx, cy, d):
    """Polygon vertices (list of (x, y)) of `shape` with bounding-box side d centred at (cx, cy);
    None for the circle (drawn as an ellipse)."""
    r = d / 2.0
    if shape == "circle":
        return None
    if shape == "square":
        s = r * 0.9
        return [(cx - s, cy - s), (cx + s, cy - s), (cx + s, cy + s), (cx - s, cy + s)]
    if shape == "triangle":
        return [(cx, cy - r), (cx + r, cy + r * 0.85), (cx - r, cy + r * 0.85)]
    if shape == "star":
        pts = []
        for k in range(10):
            rad = r if k % 2 == 0 else r * 0.45
            a = -math.pi / 2 + k * math.pi / 5
            pts.append((cx + rad * math.cos(a), cy + rad * math.sin(a) + r * 0.1))
        return pts
    if shape == "cross":
        w = r / 3.0
        return [(cx - w, cy - r), (cx + w, cy - r), (cx + w, cy - w), (cx + r, cy - w), (cx + r, cy + w),
                (cx + w, cy + w), (cx + w, cy + r), (cx - w, cy + r), (cx - w, cy + w), (cx - r, cy + w),
                (cx - r, cy - w), (cx - w, cy - w)]
    raise ValueError(f"shapes_data: unknown shape {shape!r}; expected one of {SHAPES}")


def draw(spec, size=64, rng=None, jitter=True):
    """Renders spec -> uint8 [size, size, 3]. With jitter, centre (+-POS_JITTER of the side), scale
    (+-SIZE_JITTER) and colours (+-COLOR_JITTER per channel) vary using rng; without, the canonical picture
    is drawn."""
    ss = 4  # supersampling factor
    S = size * ss
    fg = COLORS[spec["color"]]
    bg = COLORS[spec["bg"]]
    fx, fy = POSITIONS[spec["pos"]]
    d = SIZES[spec["size"]]
    if jitter:
        fx += rng.uniform(-POS_JITTER, POS_JITTER)
        fy += rng.uniform(-POS_JITTER, POS_JITTER)
        d *= rng.uniform(1 - SIZE_JITTER, 1 + SIZE_JITTER)
        fg = _jitter_color(fg, rng, COLOR_JITTER)
        bg = _jitter_color(bg, rng, COLOR_JITTER)
    img = Image.new("RGB", (S, S), bg)
    dr = ImageDraw.Draw(img)
    cx, cy, dd = fx * S, fy * S, d * S
    poly = shape_polygon(spec["shape"], cx, cy, dd)
    if poly is None:
        dr.ellipse([cx - dd / 2, cy - dd / 2, cx + dd / 2, cy + dd / 2], fill=fg)
    else:
        dr.polygon(poly, fill=fg)
    img = img.resize((size, size), Image.BOX)
    return np.asarray(img, dtype=np.uint8).copy()


def caption(spec):
    """Canonical full caption (the understanding target)."""
    pos = "" if spec["pos"] == "center" else f" at the {spec['pos']}"
    return f"a {spec['size']} {spec['color']} {spec['shape']}{pos} on a {spec['bg']} background"


def random_prompt(spec, rng, detail=None, defaults=False):
    """A text-to-image prompt for spec naming colour + shape always and size / position / background
    each with some probability (0.5 / 0.6 / 0.7, or `detail` for all three); random capitalisation and
    final period. defaults=True: a size other than DEFAULT_SIZE and a position other than the centre are
    always named, so a prompt that leaves them out means the default (medium, centred) picture."""
    p_size, p_pos, p_bg = (0.5, 0.6, 0.7) if detail is None else (detail, detail, detail)
    if defaults:
        p_size = 0.5 if spec["size"] == DEFAULT_SIZE else 1.0
        p_pos = 1.0
    words = ["a"]
    if rng.random() < p_size:
        words.append(spec["size"])
    words += [spec["color"], spec["shape"]]
    text = " ".join(words)
    if spec["pos"] != "center" and rng.random() < p_pos:
        text += f" at the {spec['pos']}"
    elif spec["pos"] == "center" and rng.random() < 0.15:
        text += " in the center"
    if rng.random() < p_bg:
        text += f" on a {spec['bg']} background"
    if rng.random() < 0.3:
        text = text[0].upper() + text[1:]
    if rng.random() < 0.2:
        text += "."
    return text


def parse_caption(text):
    """(color, shape, bg) named in text: the first colour word before 'background' that is not the
    background, the first shape word, and the colour right before 'background' (None when absent)."""
    toks = text.lower().replace(".", " ").replace(",", " ").split()
    bg = None
    for i, t in enumerate(toks):
        if t == "background" and i > 0 and toks[i - 1] in COLORS:
            bg = toks[i - 1]
    color = next((t for i, t in enumerate(toks) if t in COLORS and not (i + 1 < len(toks) and toks[i + 1] == "background")), None)
    shape = next((t for t in toks if t in SHAPES), None)
    return color, shape, bg


def all_words():
    """Every word the captions / prompts / questions can use (for the tokenizer's vocabulary)."""
    words = set(SHAPES) | set(COLORS) | set(SIZES) | {"a", "A", "at", "the", "on", "in", "background", "center"}
    for p in POSITIONS:
        words |= set(p.split())
    return sorted(words)


if __name__ == "__main__":  # writes a contact sheet of random samples for eyeballing
    import sys
    rng = np.random.default_rng(0)
    n = 8
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    sheet = np.zeros((n * size, n * size, 3), np.uint8)
    for i in range(n * n):
        s = random_spec(rng)
        sheet[(i // n) * size:(i // n + 1) * size, (i % n) * size:(i % n + 1) * size] = draw(s, size, rng)
        print(caption(s), "|", random_prompt(s, rng))
    Image.fromarray(sheet).save(sys.argv[1] if len(sys.argv) > 1 else "/tmp/shapes_sheet.png")
