"""Reading and normalising line images: grayscale, ink high, height kept fixed, clear errors."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from hwr.data.images import Preprocessing, looks_like_a_page, normalize_line, read_gray
from hwr.errors import ImageError


def test_dark_ink_on_light_paper_becomes_ink_high_at_the_configured_height(tmp_path):
    image = np.full((50, 200), 230, np.uint8)
    image[20:30, 40:160] = 20  # a dark stroke
    cv2.imwrite(str(tmp_path / "line.png"), image)
    line = normalize_line(read_gray(tmp_path / "line.png"), Preprocessing(height=32))
    assert line.shape == (32, 128) and line.dtype == np.uint8  # 200 * 32/50 = 128
    assert line[16, 64] == 255 and line[2, 5] == 0  # stroke -> high, paper -> 0


def test_light_ink_on_dark_background_is_not_inverted():
    image = np.zeros((40, 80), np.uint8)
    image[15:25, 10:70] = 200
    line = normalize_line(image, Preprocessing(height=40))
    assert line[20, 40] == 255 and line[0, 0] == 0


def test_a_fixed_scale_keeps_the_writing_one_size_whatever_the_crop_takes_in():
    writing = np.full((40, 200), 230, np.uint8)
    writing[15:25, 20:180] = 20  # the line's own writing: a thick stroke
    tall_crop = np.vstack([np.full((60, 200), 230, np.uint8), writing, np.full((30, 200), 230, np.uint8)])
    tall_crop[5:7, 50:90] = 120  # a neighbouring line's faint descender
    preprocessing = Preprocessing(height=32, scale=0.5)
    for crop in (writing, tall_crop):
        line = normalize_line(crop, preprocessing)
        assert line.shape == (32, 100)
        rows = np.flatnonzero(line[:, 50] > 128)
        assert 4 <= len(rows) <= 6 and abs(rows.mean() - 15.5) <= 1  # 10 rows of stroke at 0.5, centred
    fitted = normalize_line(tall_crop, Preprocessing(height=32))
    assert fitted.shape == (32, 49) and (fitted[:, 25] > 128).sum() < 4  # fitting the crop shrinks the writing


def test_a_fixed_scale_pads_a_low_crop_and_cuts_around_the_densest_band():
    low = np.full((10, 100), 230, np.uint8)
    low[3:7, 10:90] = 20
    line = normalize_line(low, Preprocessing(height=24, scale=1.0))
    assert line.shape == (24, 100) and line[:7].max() == 0 and line[-7:].max() == 0
    assert (line[:, 50] == 255).sum() == 4
    two_lines = np.full((120, 100), 230, np.uint8)
    two_lines[10:14, 10:90] = 20  # a thin line near the top
    two_lines[80:92, 10:90] = 20  # the dense line
    line = normalize_line(two_lines, Preprocessing(height=24, scale=1.0))
    assert (line[:, 50] == 255).sum() == 12 and line[:5].max() == 0


def test_a_fixed_scale_prefers_the_line_in_the_middle_of_the_crop_over_a_denser_neighbour():
    crop = np.full((150, 100), 230, np.uint8)
    crop[0:20, 0:100] = 20  # the line above, cut in at the top edge: solid ink
    crop[65:85, 0:100:2] = 20  # the crop's own line, in the middle: half as much ink
    line = normalize_line(crop, Preprocessing(height=48, scale=1.0))
    rows = np.flatnonzero(line[:, 0] > 128)
    assert len(rows) == 20 and abs(rows.mean() - 23.5) <= 1 and line[:, 1].max() == 0


def test_a_bad_scale_is_refused():
    with pytest.raises(ValueError, match="scale must be in"):
        Preprocessing(height=32, scale=0.0)


@pytest.mark.parametrize("kind", ["colour", "alpha", "16bit"])
def test_colour_alpha_and_16_bit_images_are_read_as_8_bit_gray(tmp_path, kind):
    gray = np.full((30, 90), 240, np.uint8)
    gray[10:20, 10:80] = 10
    if kind == "colour":
        image = np.dstack([gray, gray, gray])
    elif kind == "alpha":
        image = np.dstack([gray, gray, gray, np.full_like(gray, 255)])
        image[:, :5, 3] = 0  # transparent -> white
    else:
        image = gray.astype(np.uint16) * 257
    cv2.imwrite(str(tmp_path / "x.png"), image)
    result = read_gray(tmp_path / "x.png")
    assert result.dtype == np.uint8 and result.shape == (30, 90)
    assert abs(int(result[15, 40]) - 10) <= 1 and abs(int(result[0, 40]) - 240) <= 1
    if kind == "alpha":
        assert result[0, 0] == 255


@pytest.mark.parametrize(
    "content, message",
    [(b"", "empty file"), (b"this is not an image", "not an image or corrupt"), (None, "cannot read image")],
)
def test_bad_files_name_the_file_and_the_problem(tmp_path, content, message):
    path = tmp_path / "bad.png"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ImageError, match=rf"bad\.png: {message}"):
        read_gray(path)


def test_truncated_and_tiny_images(tmp_path):
    _, png = cv2.imencode(".png", np.full((40, 100), 200, np.uint8))
    (tmp_path / "cut.png").write_bytes(png.tobytes()[:60])
    with pytest.raises(ImageError, match=r"cut\.png: "):
        read_gray(tmp_path / "cut.png")
    cv2.imwrite(str(tmp_path / "dot.png"), np.zeros((1, 1), np.uint8))
    with pytest.raises(ImageError, match=r"dot\.png: image too small \(1x1"):
        read_gray(tmp_path / "dot.png")


def test_an_image_higher_than_wide_or_than_three_lines_looks_like_a_page():
    line, block, tall, letter = (1500, 100), (1500, 400), (800, 900), (40, 90)
    assert not looks_like_a_page(letter, Preprocessing(96))
    assert not looks_like_a_page(line, Preprocessing(96)) and not looks_like_a_page(block, Preprocessing(96))
    assert looks_like_a_page(tall, Preprocessing(96))
    assert looks_like_a_page(block, Preprocessing(96, scale=0.74)) and not looks_like_a_page(
        line, Preprocessing(96, 0.74)
    )


def _page_with_large_metadata(path, format):
    """A 900x700 page in ``format`` whose header carries ~300 KB of metadata before (or around) its size."""
    from PIL import Image, PngImagePlugin

    rng = np.random.default_rng(0)
    pixels = (rng.random((700, 900)) * 255).astype(np.uint8)  # noise: a WebP larger than 64 KiB
    image, blob = Image.fromarray(pixels), bytes(rng.integers(0, 256, 300_000, np.uint8))
    if format == "jpeg":  # the ICC profile, split over APP2 segments, comes before the frame header
        image.save(path, "JPEG", icc_profile=blob, exif=b"Exif\x00\x00" + blob[:60_000])
    elif format == "png":
        info = PngImagePlugin.PngInfo()
        info.add_text("comment", blob.hex()[:300_000], zip=True)
        image.save(path, "PNG", pnginfo=info)
    elif format == "tiff":
        image.save(path, "TIFF", description=blob.hex()[:300_000])
    elif format == "webp":
        image.save(path, "WEBP", quality=90, exif=b"Exif\x00\x00" + blob[:100_000])
    else:  # JP2: an XML box of 300 KB between the file type box and the header box
        import io
        import struct

        encoded = io.BytesIO()
        image.save(encoded, "JPEG2000")
        data = encoded.getvalue()
        xml = b"<meta>" + blob.hex()[:300_000].encode() + b"</meta>"
        header_box = data.index(b"jp2h") - 4
        path.write_bytes(data[:header_box] + struct.pack(">I", 8 + len(xml)) + b"xml " + xml + data[header_box:])
    return pixels


@pytest.mark.parametrize("format", ["jpeg", "png", "tiff", "webp", "jp2"])
def test_page_sizes_are_read_from_headers_of_any_length(tmp_path, format):
    from hwr.data.images import image_size

    path = tmp_path / f"page.{format}"
    pixels = _page_with_large_metadata(path, format)
    assert path.stat().st_size > 1 << 16
    assert image_size(path) == (900, 700)
    gray = read_gray(path)
    assert gray.shape == (700, 900)
    if format in ("png", "tiff"):
        assert (gray == pixels).all()
