"""Photos are judged by their bytes and come out of `clean` with no metadata, the right way up.

Every fixture is made here with Pillow and pillow-heif: a 40x20 photo whose top-left corner is red, stored
with EXIF orientation 6 (turn 90° clockwise to show), a camera model, a GPS position, XMP, and per format
what else it can carry (a JPEG comment, IPTC and an ICC profile; PNG text chunks).
"""

from __future__ import annotations

import functools
import io
import re
import resource
import struct
import warnings
import zlib

import pillow_heif
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import ExifTags, Image, ImageCms, PngImagePlugin, TiffImagePlugin

from gateway.submission.photos import MAX_PHOTO_BYTES, PHOTO_TYPES, CleanPhoto, PhotoRejected, clean, sniff

CAMERA = b"Secret-Cam-4711"
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description>xmp-secret-place</rdf:Description></x:xmpmeta>'
COMMENT = b"comment-secret-place"
IPTC_CITY = b"iptc-secret-city"
PNG_TEXT = "text-secret-place"
RED, GREEN = (255, 0, 0), (0, 160, 0)
KINDS = ("jpeg", "png", "webp", "heic")


@functools.cache
def _exif() -> bytes:
    """EXIF with a camera model, orientation 6 and a GPS position whose seconds are unusual rationals."""
    rational = TiffImagePlugin.IFDRational
    exif = Image.Exif()
    exif[ExifTags.Base.Model] = CAMERA.decode()
    exif[ExifTags.Base.Orientation] = 6
    exif.get_ifd(ExifTags.IFD.GPSInfo).update(
        {
            ExifTags.GPS.GPSLatitudeRef: "N",
            ExifTags.GPS.GPSLatitude: (rational(60, 1), rational(10, 1), rational(123457, 10000)),
            ExifTags.GPS.GPSLongitudeRef: "E",
            ExifTags.GPS.GPSLongitude: (rational(24, 1), rational(56, 1), rational(987653, 10000)),
        }
    )
    return exif.tobytes()


def _gps_seconds() -> list[bytes]:
    """The GPS seconds as the EXIF block stores them (numerator, denominator), in its byte order."""
    order = ">" if _exif()[6:8] == b"MM" else "<"
    return [struct.pack(f"{order}II", 123457, 10000), struct.pack(f"{order}II", 987653, 10000)]


def _pixels() -> Image.Image:
    image = Image.new("RGB", (40, 20), GREEN)
    image.paste(RED, (0, 0, 8, 8))
    return image


def _with_iptc(jpeg: bytes) -> bytes:
    """*jpeg* with a Photoshop APP13 segment holding an IPTC city (2:90), right after SOI."""
    iptc = b"\x1c\x02\x5a" + struct.pack(">H", len(IPTC_CITY)) + IPTC_CITY
    resource_block = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(iptc)) + iptc
    payload = b"Photoshop 3.0\x00" + resource_block
    return jpeg[:2] + b"\xff\xed" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


@functools.cache
def photo(kind: str) -> bytes:
    out = io.BytesIO()
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    if kind == "jpeg":
        _pixels().save(out, "JPEG", exif=_exif(), xmp=XMP, comment=COMMENT, icc_profile=icc, quality=95)
        return _with_iptc(out.getvalue())
    if kind == "png":
        text = PngImagePlugin.PngInfo()
        text.add_text("Comment", PNG_TEXT)
        text.add_text("Location", "zipped-secret", zip=True)
        text.add_itxt("XML:com.adobe.xmp", XMP.decode())
        _pixels().save(out, "PNG", exif=_exif(), pnginfo=text)
    elif kind == "webp":
        _pixels().save(out, "WEBP", exif=_exif(), xmp=XMP, icc_profile=icc, quality=95)
    else:
        pillow_heif.from_pillow(_pixels()).save(out, quality=95, exif=_exif(), xmp=XMP)
    return out.getvalue()


# What each fixture carries in plain bytes and must not carry once cleaned.
SECRETS = {
    "jpeg": [CAMERA, b"Exif", b"xmp-secret-place", COMMENT, IPTC_CITY],
    "png": [CAMERA, b"xmp-secret-place", PNG_TEXT.encode()],
    "webp": [CAMERA, b"xmp-secret-place"],
    "heic": [CAMERA, b"Exif", b"xmp-secret-place"],
}
SNIFFED = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "heic": "image/heic"}
CLEANED = {"jpeg": ("image/jpeg", ".jpg"), "png": ("image/png", ".png"), "webp": ("image/webp", ".webp")}
CLEANED["heic"] = CLEANED["jpeg"]  # browsers other than Safari cannot show HEIC
METADATA_KEYS = {"exif", "xmp", "comment", "icc_profile", "photoshop", "XML:com.adobe.xmp", "Comment"}


def _png_chunks(data: bytes) -> set[bytes]:
    chunks, at = set(), 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        chunks.add(data[at + 4 : at + 8])
        at += 12 + length
    return chunks


def _jpeg_segments(data: bytes) -> set[int]:
    """The marker bytes of the JPEG's segments up to the start of scan."""
    segments, at = set(), 2
    while data[at + 1] != 0xDA:
        segments.add(data[at + 1])
        at += 2 + struct.unpack(">H", data[at + 2 : at + 4])[0]
    return segments


def _webp_chunks(data: bytes) -> set[bytes]:
    chunks, at = set(), 12
    while at < len(data):
        (length,) = struct.unpack("<I", data[at + 4 : at + 8])
        chunks.add(data[at : at + 4])
        at += 8 + length + (length & 1)
    return chunks


# -- sniff -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", ["x.jpg", "x.png", "photo.gif", "noextension", "evil.heic.exe"])
def test_the_bytes_decide_the_type_and_the_name_is_not_believed(kind: str, name: str) -> None:
    assert sniff(photo(kind)) == SNIFFED[kind]
    cleaned = clean(photo(kind), name)
    assert (cleaned.content_type, cleaned.filename[-len(CLEANED[kind][1]) :]) == CLEANED[kind]
    assert Image.open(io.BytesIO(cleaned.content)).get_format_mimetype() == cleaned.content_type


def _image_as(format: str) -> bytes:
    out = io.BytesIO()
    _pixels().save(out, format)
    return out.getvalue()


REJECTED = [
    ("text named photo.jpg", b"Dear city, the street light on Main St is out.\n", "not-an-image"),
    ("html", b"<html><body><img src=x onerror=alert(1)></body></html>", "not-an-image"),
    ("gif", _image_as("GIF"), "unsupported-type"),
    ("tiff", _image_as("TIFF"), "unsupported-type"),
    ("svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "unsupported-type"),
    ("svg with xml prolog and bom", b'\xef\xbb\xbf<?xml version="1.0"?>\n<svg></svg>', "unsupported-type"),
    ("avif", b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf", "unsupported-type"),
    ("mp4 video", b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2", "not-an-image"),
    ("empty", b"", "empty"),
    ("10 MB + 1 byte", b"\xff\xd8\xff\xe0" + bytes(MAX_PHOTO_BYTES - 3), "too-large"),
    ("jpeg magic only, cut", b"\xff\xd8", "not-an-image"),
]


@pytest.mark.parametrize(("data", "reason"), [pytest.param(d, r, id=n) for n, d, r in REJECTED])
def test_what_is_not_a_photo_we_take_is_rejected_with_its_reason(data: bytes, reason: str) -> None:
    with pytest.raises(PhotoRejected) as caught:
        sniff(data)
    assert caught.value.reason == reason
    assert str(caught.value)  # the sentence for the log
    with pytest.raises(PhotoRejected) as caught:
        clean(data, "photo.jpg")
    assert caught.value.reason == reason


def test_exactly_10_mb_is_not_too_large() -> None:
    assert sniff(b"\xff\xd8\xff\xe0" + bytes(MAX_PHOTO_BYTES - 4)) == "image/jpeg"


def test_a_hand_made_heic_header_is_sniffed_and_its_missing_image_is_unreadable() -> None:
    header = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"
    assert sniff(header) == "image/heic"
    with pytest.raises(PhotoRejected) as caught:
        clean(header + bytes(100), "IMG_0001.HEIC")
    assert caught.value.reason == "unreadable"


MAGICS = [b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"RIFF\x00\x00\x00\x00WEBP", b"\x00\x00\x00\x18ftyp"]
MAGICS += [b"GIF89a", b"<svg"]


@settings(max_examples=500)
@given(st.one_of(st.binary(max_size=64), st.tuples(st.sampled_from(MAGICS), st.binary()).map(b"".join)))
def test_sniff_raises_nothing_but_photo_rejected_on_any_bytes(data: bytes) -> None:
    try:
        assert sniff(data) in PHOTO_TYPES
    except PhotoRejected as exc:
        assert exc.reason in {"not-an-image", "unsupported-type", "empty"}


# -- clean -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_clean_removes_every_piece_of_metadata(kind: str) -> None:
    original = photo(kind)
    for secret in [*SECRETS[kind], *_gps_seconds()]:
        assert secret in original, secret  # the fixture carries it, so its absence below means something
    cleaned = clean(original, f"IMG_1234.{kind}")
    for secret in [*SECRETS[kind], *_gps_seconds()]:
        assert secret not in cleaned.content, secret
    image = Image.open(io.BytesIO(cleaned.content))
    assert dict(image.getexif()) == {}
    assert not METADATA_KEYS & image.info.keys(), image.info.keys()
    if cleaned.content_type == "image/jpeg":  # no APPn segment but JFIF's APP0, no comment
        assert not _jpeg_segments(cleaned.content) & {*range(0xE1, 0xF0), 0xFE}
    elif cleaned.content_type == "image/png":
        assert _png_chunks(cleaned.content) <= {b"IHDR", b"IDAT", b"IEND"}
    else:
        assert _webp_chunks(cleaned.content) <= {b"VP8 ", b"VP8L"}


@pytest.mark.parametrize("kind", KINDS)
def test_the_orientation_is_applied_to_the_pixels(kind: str) -> None:
    cleaned = clean(photo(kind), "sideways.jpg")
    image = Image.open(io.BytesIO(cleaned.content)).convert("RGB")
    assert (cleaned.width, cleaned.height) == image.size == (20, 40)
    # orientation 6: the stored top-left corner is shown top-right
    top_right, top_left = image.getpixel((16, 3)), image.getpixel((3, 3))
    assert isinstance(top_right, tuple) and isinstance(top_left, tuple)
    assert top_right[0] > 200 and top_right[1] < 80, top_right
    assert top_left[0] < 80 and top_left[1] > 100, top_left


def test_a_transparent_png_keeps_its_transparency() -> None:
    out = io.BytesIO()
    Image.new("RGBA", (4, 4), (10, 20, 30, 0)).save(out, "PNG")
    cleaned = clean(out.getvalue(), "logo.png")
    assert Image.open(io.BytesIO(cleaned.content)).getpixel((0, 0)) == (10, 20, 30, 0)


def test_a_palette_png_keeps_its_colours() -> None:
    out = io.BytesIO()
    _pixels().convert("P", palette=Image.Palette.ADAPTIVE, colors=4).save(out, "PNG")
    cleaned = Image.open(io.BytesIO(clean(out.getvalue(), "map.png").content))
    assert cleaned.convert("RGB").getpixel((0, 0)) == RED
    assert cleaned.convert("RGB").getpixel((39, 19)) == GREEN


def test_a_photo_whose_exif_is_corrupt_is_still_cleaned() -> None:
    # The camera model's entry (tag 0x0110, type ASCII) now claims 2 GB of data: Pillow warns and skips it.
    jpeg = photo("jpeg")
    entry = jpeg.index(b"\x01\x10\x00\x02")
    corrupt = jpeg[: entry + 4] + b"\x7f\xff\xff\xff" + jpeg[entry + 8 :]
    cleaned = clean(corrupt, "IMG_1234.jpg")
    assert (cleaned.width, cleaned.height) == (20, 40)  # the orientation tag was still read
    assert CAMERA not in cleaned.content


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd.jpg", "passwd.png"),
        ("C:\\Users\\Maija\\Pictures\\kuoppa.jpg", "kuoppa.png"),
        ("<script>.png", "script.png"),
        ("Kuoppa Hämeentiellä (2).HEIC", "Kuoppa_Hameentiella_2.png"),
        ("a" * 300 + ".png", "a" * 60 + ".png"),
        ("..", "photo.png"),
        (".htaccess", "htaccess.png"),
        ("!!!.png", "photo.png"),
        ("写真.jpg", "photo.png"),
        ("", "photo.png"),
    ],
)
def test_the_filename_is_made_safe(name: str, expected: str) -> None:
    assert clean(_image_as("PNG"), name).filename == expected


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_any_filename_comes_out_safe(name: str) -> None:
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,59}\.png", clean(_image_as("PNG"), name).filename)


def _bomb(width: int, height: int) -> bytes:
    """A complete, valid 1-bit PNG of *width*x*height* black pixels: tens of kilobytes on disk, and one
    byte per pixel once Pillow decodes it."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    packer, row = zlib.compressobj(9), bytes(1 + (width + 7) // 8)  # filter byte 0, then the bits
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("width", "height"),
    [
        (20_000, 20_000),  # over twice Pillow's limit: DecompressionBombError
        (10_000, 10_000),  # over Pillow's limit: DecompressionBombWarning
        (8_000, 8_000),  # under Pillow's limit, over our 50 megapixels
    ],
)
def test_a_decompression_bomb_is_refused_before_it_is_decoded(width: int, height: int) -> None:
    bomb = _bomb(width, height)
    assert len(bomb) < MAX_PHOTO_BYTES // 20
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(PhotoRejected) as caught:
        clean(bomb, "bomb.png")
    assert caught.value.reason == "too-large"
    # Decoding the largest would take 400 MB; the peak of this process must not have grown by 100 MB.
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_kb < 100 * 1024


def test_pillows_bomb_warning_is_handled_not_left_to_the_caller() -> None:
    with warnings.catch_warnings(record=True) as caught_warnings:
        warnings.simplefilter("always")  # as in production, where a warning is not an error
        with pytest.raises(PhotoRejected) as caught:
            clean(_bomb(10_000, 10_000), "bomb.png")
    assert caught.value.reason == "too-large"
    assert [w.category for w in caught_warnings] == []


@pytest.mark.parametrize(("width", "height"), [(8_000, 8_000), (100_000, 100_000)])
def test_a_heic_that_crops_a_huge_coded_image_to_a_small_one_is_refused(width: int, height: int) -> None:
    # Image.open reports the size after the crop (clap), 20x40; libheif would decode the coded size (ispe).
    heic = photo("heic")
    at = heic.index(b"ispe\x00\x00\x00\x00") + 8
    with pytest.raises(PhotoRejected) as caught:
        clean(heic[:at] + struct.pack(">II", width, height) + heic[at + 8 :], "IMG_0001.HEIC")
    assert caught.value.reason == "too-large"


@pytest.mark.parametrize("kind", KINDS)
def test_truncated_bytes_are_unreadable(kind: str) -> None:
    with pytest.raises(PhotoRejected) as caught:
        clean(photo(kind)[:200], "cut.jpg")
    assert caught.value.reason == "unreadable"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(KINDS),
    st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), min_size=1, max_size=8),
    st.one_of(st.none(), st.integers(min_value=12)),
)
def test_a_damaged_photo_is_cleaned_or_rejected_never_crashes(
    kind: str, damage: list[tuple[int, int]], cut: int | None
) -> None:
    data = bytearray(photo(kind))
    for at, value in damage:
        data[at % len(data)] = value
    try:
        cleaned = clean(bytes(data[:cut]), "damaged.jpg")
    except PhotoRejected as exc:
        assert exc.reason in {"unreadable", "too-large", "not-an-image", "unsupported-type"}
    else:
        assert isinstance(cleaned, CleanPhoto)
        assert CAMERA not in cleaned.content
