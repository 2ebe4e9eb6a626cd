"""Reading users' image files (image, foreground and background folders): decode, or a clear
error naming the file; centre square crops. One place, so every folder kind fails the same way."""

from __future__ import annotations

from PIL import Image

from dsl.errors import DataMissing


def open_image(path, mode: str) -> Image.Image:
    """The image at `path`, decoded and converted to `mode`. A file that does not decode (a
    truncated copy, or not an image despite its extension) is a DataMissing error naming it."""
    try:
        with Image.open(path) as im:
            return im.convert(mode)
    except Exception as err:  # noqa: BLE001 - bad bytes raise OSError, SyntaxError, struct.error...
        raise DataMissing(f"cannot read image {path} ({type(err).__name__}: {err}): the file is "
                          "damaged or not an image; remove it from the folder or replace it "
                          "with a good copy") from err


def square_crop(im: Image.Image) -> Image.Image:
    """The centred square of the largest side that fits."""
    w, h = im.size
    s = min(w, h)
    left, top = (w - s) // 2, (h - s) // 2
    return im.crop((left, top, left + s, top + s))
