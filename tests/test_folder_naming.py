"""Pairing as researchers name files: mask endings, macOS (NFD) names, x.ome.tif, system files, broken links."""

import tempfile
import unicodedata
from pathlib import Path

import numpy as np
import pytest
import skimage.io
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import imageio, own_data

SUFFIXES = ["", "", "_mask", "-mask", "_Masks", "_label", "_labels", "_seg", "_gt", " mask", "_cp_masks"]
SYSTEM_FILES = [".DS_Store", "._{}.png", "Thumbs.db", "desktop.ini"]


def write(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    skimage.io.imsave(path, array, check_contrast=False)


def mask():
    pixels = np.zeros((16, 16), np.uint8)
    pixels[:5] = 255
    return pixels


def lines(report, words):
    """The report's grouped findings whose text holds ``words``."""
    return [entry for entry in report.grouped() if words in f"{entry[2]} {entry[3]}"]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    bases=st.lists(
        st.text("abé1ü", min_size=1, max_size=5),
        min_size=1,
        max_size=4,
        unique_by=lambda s: unicodedata.normalize("NFC", s),
    ),
    suffixes=st.lists(st.sampled_from(SUFFIXES), min_size=4, max_size=4),
    forms=st.lists(st.sampled_from(["NFC", "NFD"]), min_size=8, max_size=8),
    endings=st.lists(st.sampled_from([".png", ".tif", ".ome.tif", ".TIF"]), min_size=4, max_size=4),
    system=st.lists(st.sampled_from(SYSTEM_FILES), max_size=3, unique=True),
    broken_link=st.booleans(),
)
def test_masks_named_as_researchers_name_them_all_pair(bases, suffixes, forms, endings, system, broken_link):
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        for index, base in enumerate(bases):
            image_name = unicodedata.normalize(forms[index], base) + endings[index]
            mask_name = unicodedata.normalize(forms[4 + index], base) + suffixes[index] + ".png"
            write(root / "images" / image_name, np.full((16, 16), 40 * index, np.uint8))
            write(root / "masks" / mask_name, mask())
        for number, name in enumerate(system):
            (root / ("images" if number % 2 else "masks") / name.format(bases[0])).write_bytes(b"\0\1")
        if broken_link:
            (root / "masks" / "gone.png").symlink_to(root / "nowhere.png")
        report = own_data.check_folder(root / "images", root / "masks", n_poolings=2, crop_size=8)
        assert sorted(name for name, _, _ in report.pairs) == sorted(unicodedata.normalize("NFC", b) for b in bases)
        assert report.ok and report.left_out == {}, report.summary()
        paired_by_ending = [s for s in suffixes[: len(bases)] if s]
        found = lines(report, "paired with their images") + lines(report, "paired with it")
        assert len(found) == (1 if paired_by_ending else 0), report.summary()
        if paired_by_ending:
            assert len(found[0][1]) == len(paired_by_ending)  # one line, every such mask listed
        skipped = lines(report, "system file")
        assert len(skipped) == (1 if system else 0) and (not system or len(skipped[0][1]) == len(system))
        assert len(lines(report, "broken link")) == broken_link


def test_two_masks_for_one_image_pair_with_neither_and_are_named(tmp_path):
    write(tmp_path / "images" / "a.png", np.zeros((16, 16), np.uint8))
    write(tmp_path / "images" / "b.png", np.zeros((16, 16), np.uint8))
    for name in ("a.png", "a_mask.png", "b.png"):
        write(tmp_path / "masks" / name, mask())
    report = own_data.check_folder(tmp_path / "images", tmp_path / "masks", n_poolings=2, crop_size=8)
    assert [name for name, _, _ in report.pairs] == ["b"] and "a" in report.left_out
    (found,) = lines(report, "Keep one file per name")
    assert found[0] == "error" and "a_mask.png" in found[2]


def test_every_kind_of_finding_is_one_line_with_its_files(tmp_path):
    for name in ("1", "2", "3", "4", "5"):
        write(tmp_path / "images" / f"{name}.png", np.zeros((16, 16), np.uint8))
    write(tmp_path / "masks" / "1.png", mask())
    write(tmp_path / "masks" / "2.png", mask())
    for name in ("x.png", "y.png"):
        write(tmp_path / "masks" / name, mask())  # masks without an image
    report = own_data.check_folder(tmp_path / "images", tmp_path / "masks", n_poolings=2, crop_size=8)
    (errors,) = [entry for entry in report.grouped() if entry[0] == "error"]
    assert sorted(Path(f).name for f in errors[1]) == ["3.png", "4.png", "5.png"] and "Add its mask" in errors[3]
    (warnings,) = [entry for entry in report.grouped() if entry[0] == "warning"]
    assert sorted(Path(f).name for f in warnings[1]) == ["x.png", "y.png"]
    assert "3 files (3.png, 4.png, 5.png)" in report.summary()


@pytest.mark.parametrize("empty", ["", Path(""), None, "   "])
def test_an_empty_mask_folder_is_refused_naming_the_parameter(tmp_path, empty):
    write(tmp_path / "images" / "1.png", np.zeros((16, 16), np.uint8))
    with pytest.raises(ValueError, match="MASK_FOLDER") as error:
        imageio.load_pairs(tmp_path / "images", empty)
    assert "Set it to the path" in str(error.value)
    if empty is not None:  # own_data turns the text into a Path first: Path("") is "."
        with pytest.raises(ValueError, match="MASK_FOLDER"):
            own_data.check_folder(tmp_path / "images", empty)


def test_file_stem_pairs_ome_tif_and_macos_names():
    assert imageio.file_stem("cell.ome.tif") == imageio.file_stem("cell.png") == "cell"
    nfd = unicodedata.normalize("NFD", "Zelle_é.png")
    assert imageio.file_stem(nfd) == unicodedata.normalize("NFC", "Zelle_é")
