"""Residents' photos: which ones we take, judged by their bytes, and their copy with all metadata removed.

Two steps, in two places (issue 17). `sniff` runs in the web request, before the answer: it reads a few
header bytes and decodes nothing, so a hostile upload costs the web process nothing. `clean` runs later in a
parser process: it decodes the photo with Pillow and encodes its pixels again into a fresh image, so that
no EXIF (with its GPS position and camera), XMP, IPTC, comment or text chunk reaches what staff and the
public see. A file's name and its claimed content type are never believed: a text file named photo.jpg
is not a photo.
"""

from __future__ import annotations

import functools
import io
import re
import struct
import unicodedata
import warnings
from dataclasses import dataclass
from typing import Literal

from PIL import Image, ImageOps

PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp", "image/heic")
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PHOTOS = 5
# 50 megapixels: a 48 MP phone camera still fits, and decoding one costs at most ~200 MB (RGBA). Kept
# below Pillow's own bomb limit (Image.MAX_IMAGE_PIXELS, ~89 MP), which we leave alone: it is global.
MAX_PHOTO_PIXELS = 50_000_000

# ISO-BMFF major brands of HEIF still images (ISO/IEC 23008-12 annex B); AVIF's brands are not among them.
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"})
# Images we recognise but do not take, so that the resident is told "not this kind", not "not an image".
_OTHER_IMAGES = (
    (b"GIF87a", "a GIF"),
    (b"GIF89a", "a GIF"),
    (b"II*\x00", "a TIFF"),
    (b"MM\x00*", "a TIFF"),
    (b"\xff\x0a", "a JPEG XL"),
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n", "a JPEG XL"),
)
_AVIF_BRANDS = frozenset({b"avif", b"avis"})

# content type read -> (Pillow's name of the reading plugin, Pillow's name of the output format, output
# content type, file extension). HEIC becomes JPEG: only Safari shows HEIC, and staff open photos in any
# mail client.
_FORMATS = {
    "image/jpeg": ("JPEG", "JPEG", "image/jpeg", ".jpg"),
    "image/png": ("PNG", "PNG", "image/png", ".png"),
    "image/webp": ("WEBP", "WEBP", "image/webp", ".webp"),
    "image/heic": ("HEIF", "JPEG", "image/jpeg", ".jpg"),
}
# The pixel modes each output format stores as they are; any other mode is converted to RGB(A).
_MODES = {"JPEG": ("L", "RGB"), "PNG": ("1", "L", "LA", "P", "RGB", "RGBA"), "WEBP": ("RGB", "RGBA")}
# quality 90: re-encoding a JPEG cannot 'keep' its tables once the pixels are copied to a fresh image.
_SAVE_OPTIONS: dict[str, dict[str, int | bool]] = {
    "JPEG": {"quality": 90, "optimize": True},
    "PNG": {},
    "WEBP": {"quality": 90},
}
# What Pillow and pillow-heif raise for bytes that claim a format but do not decode: OSError (with
# UnidentifiedImageError and "image file is truncated"), SyntaxError and struct.error from header parsers,
# ValueError and EOFError from EXIF, RuntimeError from libheif (a corrupt box, its own size limits).
_BROKEN = (OSError, SyntaxError, ValueError, EOFError, RuntimeError, struct.error)
_ISPE = re.compile(rb"ispe\x00\x00\x00\x00(.{8})", re.DOTALL)  # the box type, version 0, width, height
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_NAME_CHARS = 60


Reason = Literal["too-large", "not-an-image", "unsupported-type", "empty", "unreadable"]


class PhotoRejected(ValueError):
    """A photo that is not one we take. `reason` is a machine word for the form and the API:
    'too-large', 'not-an-image', 'unsupported-type', 'empty', 'unreadable'; str(exc) is an English
    sentence for logs."""

    reason: Reason

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class CleanPhoto:
    filename: str  # safe: [A-Za-z0-9._-], at most 60 characters before the output type's extension
    content_type: str  # of the output, one of image/jpeg, image/png, image/webp
    content: bytes
    width: int  # as displayed: after the EXIF orientation was applied to the pixels
    height: int


def sniff(data: bytes) -> str:
    """The photo's content type (one of PHOTO_TYPES) from its first bytes; decodes nothing.

    Raises PhotoRejected: 'too-large' over MAX_PHOTO_BYTES, 'empty', 'unsupported-type' for an image we
    do not take (GIF, TIFF, SVG, AVIF, JPEG XL), 'not-an-image' for anything else."""
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoRejected("too-large", f"the photo has {len(data)} bytes, over {MAX_PHOTO_BYTES}")
    if not data:
        raise PhotoRejected("empty", "the photo is an empty file")
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":  # an ISO-BMFF file: the first box names its major brand
        brand = data[8:12]
        if brand in _HEIC_BRANDS:
            return "image/heic"
        if brand in _AVIF_BRANDS:
            raise PhotoRejected("unsupported-type", "the photo is an AVIF image, which we do not take")
        raise PhotoRejected("not-an-image", f"the file is ISO media of brand {brand!r}, not a photo")
    for magic, kind in _OTHER_IMAGES:
        if data.startswith(magic):
            raise PhotoRejected("unsupported-type", f"the photo is {kind} image, which we do not take")
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<") and b"<svg" in head:
        raise PhotoRejected("unsupported-type", "the photo is an SVG drawing, which we do not take")
    raise PhotoRejected("not-an-image", "the file's first bytes are not those of a JPEG, PNG, WebP or HEIC")


def clean(data: bytes, filename: str) -> CleanPhoto:
    """The photo re-encoded from its pixels alone, the right way up, with every piece of metadata removed.

    JPEG, PNG and WebP keep their format; HEIC becomes JPEG. Raises PhotoRejected as `sniff` does, and
    'too-large' over MAX_PHOTO_PIXELS, 'unreadable' for bytes that claim a format but do not decode.

    Dropped with the rest: the ICC colour profile. A profile can name the device that made it, and a
    photo of a pothole needs no colour management; a wide-gamut (Display P3) photo only looks a little
    less saturated."""
    read_as, write_as, content_type, extension = _FORMATS[sniff(data)]
    if read_as == "HEIF":
        _register_heif()
    image = _decode(data, read_as)
    bare = _bare(image, _MODES[write_as])
    out = io.BytesIO()
    bare.save(out, format=write_as, **_SAVE_OPTIONS[write_as])
    return CleanPhoto(_safe_name(filename, extension), content_type, out.getvalue(), bare.width, bare.height)


def _decode(data: bytes, read_as: str) -> Image.Image:
    """The decoded pixels, turned by the EXIF orientation. Only the plugin of the sniffed type may read
    the bytes, so a file cannot reach one of Pillow's other, less used parsers."""
    if read_as == "HEIF" and (declared := _heic_pixels(data)) > MAX_PHOTO_PIXELS:
        raise PhotoRejected("too-large", f"the HEIC photo declares {declared} pixels, over the limit")
    # Pillow warns (DecompressionBombWarning) from ~89 MP and raises from ~179 MP; the warning is made an
    # error so that both refuse the photo. Its UserWarnings about a corrupt EXIF block are ignored: that
    # block is dropped anyway, and the pixels are still good. catch_warnings is process-wide: this runs in
    # a parser process, never in the web request's threads.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=(read_as,))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise PhotoRejected("too-large", f"the photo has too many pixels to decode: {exc}") from exc
        except _BROKEN as exc:
            raise PhotoRejected("unreadable", f"the photo's bytes do not decode: {exc}") from exc
        # Checked on the header's size, before any pixel is decoded.
        if image.width * image.height > MAX_PHOTO_PIXELS:
            pixels = f"{image.width}x{image.height}"
            raise PhotoRejected("too-large", f"the photo has {pixels} pixels, over {MAX_PHOTO_PIXELS}")
        try:
            # Phones store the pixels sideways and say so in EXIF (Orientation); with EXIF gone the photo
            # would show sideways, so the turn is applied to the pixels first (this decodes them).
            return ImageOps.exif_transpose(image)
        except _BROKEN as exc:
            raise PhotoRejected("unreadable", f"the photo's bytes do not decode: {exc}") from exc


def _heic_pixels(data: bytes) -> int:
    """The most pixels an image of a HEIC file declares in its 'ispe' properties (ISO/IEC 23008-12, 6.5.3).

    Image.open reports the size after the crop ('clap'), but libheif decodes the whole coded image, a grid
    of tiles up to its own limit of a gigapixel: a file that crops a huge grid to a few pixels would pass
    the check on the reported size. Searched as bytes, not parsed as boxes, so that no box layout hides one;
    8 exact bytes make a false match in pixel data practically impossible."""
    sizes = (struct.unpack(">II", found[1]) for found in _ISPE.finditer(data))
    return max((width * height for width, height in sizes), default=0)


def _bare(image: Image.Image, modes: tuple[str, ...]) -> Image.Image:
    """A fresh image holding only *image*'s pixels (and palette): its `info` is empty, so nothing of the
    original's metadata can be written out again, whatever a Pillow version copies from `info` on save."""
    if image.mode not in modes or (image.has_transparency_data and image.mode not in ("LA", "RGBA")):
        alpha = image.has_transparency_data and "RGBA" in modes
        image = image.convert("RGBA" if alpha else "RGB")  # JPEG has no alpha: it is dropped
    bare = Image.new(image.mode, image.size)
    if image.mode == "P":
        bare.putpalette(image.getpalette() or [])
    bare.paste(image)
    return bare


def _safe_name(filename: str, extension: str) -> str:
    """The stem of the resident's file name in [A-Za-z0-9._-], with the output type's extension.

    Only the last path segment counts (old browsers send C:\\Users\\...); accents are folded (ä -> a) so
    that Finnish and Swedish names stay readable; leading and trailing dots, dashes and underscores are
    removed so that no name is hidden or climbs a directory."""
    base = re.split(r"[/\\]", filename)[-1]
    stem = base.rsplit(".", 1)[0] if "." in base.lstrip(".") else base
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    safe = _UNSAFE.sub("_", ascii_stem).strip("._-")[:_NAME_CHARS].rstrip("._-")
    return (safe or "photo") + extension


@functools.cache
def _register_heif() -> None:
    """Teach Pillow to read HEIC, once per process, on the first HEIC photo: importing pillow_heif loads
    libheif, which the web process (it only sniffs) never needs. Thumbnails, depth and auxiliary images
    are not decoded: only the primary image is kept."""
    import pillow_heif

    pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)
