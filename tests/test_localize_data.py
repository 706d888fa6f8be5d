"""Localisation data: tags CSV, VOC, COCO readers, class lists, bad labels, the digits demo generator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wsl.data.coco import read_coco
from wsl.data.digits import DIGIT_CLASSES, load_glyphs, make_digits_split
from wsl.data.tagged import (
    Box,
    TaggedImage,
    check_labels,
    read_class_list,
    read_tags_csv,
    resolve_classes,
    split_unlabelled,
    write_tags_csv,
)
from wsl.data.tagsets import read_tagged
from wsl.data.voc import VOC_CLASSES, read_voc
from wsl.errors import BadInput


def test_tags_csv_labels_boxes_and_classes_file(tmp_path: Path) -> None:
    (tmp_path / "labels.csv").write_text(
        "path,labels,boxes\n"
        "a.jpg,dog;cat,potted plant 1 2 30 40\n"
        "\n"
        "sub/b.jpg,cat,\n"
        "c.jpg,,\n")
    (tmp_path / "classes.txt").write_text("_background_\ncat\ndog\n# comment\npotted plant\n")
    data = read_tagged(tmp_path)
    assert data.kind == "csv" and data.classes == ("cat", "dog", "potted plant")
    a, b, c = data.images
    assert a.path == tmp_path / "a.jpg" and b.path == tmp_path / "sub" / "b.jpg"
    assert a.labels == ("cat", "dog", "potted plant")  # a box's label counts as present
    assert a.boxes == (Box("potted plant", 1, 2, 30, 40),)
    assert (a.line, b.line, c.line) == (2, 4, 5)
    kept, unlabelled = split_unlabelled(data)
    assert [im.path.name for im in unlabelled] == ["c.jpg"] and len(kept.images) == 2


@pytest.mark.parametrize("body, line, words", [
    ("a.jpg,cat,cat 1 2 3\n", 2, "label x0 y0 x1 y1"),
    ("a.jpg,cat,cat 1 2 x 4\n", 2, "must be numbers"),
    ("a.jpg,cat,\nb.jpg,cat,cat 5 5 5 9\n", 3, "empty"),
    (",cat,\n", 2, "empty image path"),
])
def test_tags_csv_errors_name_the_line(tmp_path: Path, body: str, line: int, words: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text("path,labels,boxes\n" + body)
    with pytest.raises(BadInput) as e:
        read_tags_csv(path)
    assert e.value.line == line and words in e.value.message and e.value.path == str(path)


def test_tags_csv_needs_header(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("a.jpg,cat\n")
    with pytest.raises(BadInput, match="header"):
        read_tags_csv(tmp_path / "t.csv")


def test_csv_round_trip(tmp_path: Path) -> None:
    images = [TaggedImage(tmp_path / "x" / "1.png", ("a", "b"), (Box("a", 0, 0, 5.5, 6), Box("b", 1, 1, 2, 2))),
              TaggedImage(tmp_path / "2.png", ("c",))]
    write_tags_csv(tmp_path / "labels.csv", images, ["a", "b", "c"])
    back = read_tags_csv(tmp_path / "labels.csv")
    assert [(im.path, im.labels, im.boxes) for im in back.images] == [(im.path, im.labels, im.boxes) for im in images]
    assert back.classes == ("a", "b", "c")


def test_unknown_labels_are_an_error_with_file_and_line_or_dropped(tmp_path: Path) -> None:
    (tmp_path / "labels.csv").write_text("path,labels\na.jpg,cat\nb.jpg,dgo;cat\n")
    data = read_tagged(tmp_path / "labels.csv")
    with pytest.raises(BadInput) as e:
        check_labels(data, ["cat", "dog"])
    assert "'dgo'" in e.value.message and e.value.line == 3 and "--ignore-unknown" in e.value.message
    fixed, dropped = check_labels(data, ["cat", "dog"], ignore_unknown=True)
    assert dropped == 1 and fixed.images[1].labels == ("cat",)


def test_class_list_resolution(tmp_path: Path) -> None:
    (tmp_path / "labels.csv").write_text("path,labels\na.jpg,10\nb.jpg,2;x\n")
    data = read_tagged(tmp_path)
    assert resolve_classes(data) == ("2", "10", "x")  # natural order
    assert resolve_classes(data, ["x", "2", "10"]) == ("x", "2", "10")
    (tmp_path / "dup.txt").write_text("a\nb\na\n")
    with pytest.raises(BadInput) as e:
        read_class_list(tmp_path / "dup.txt")
    assert e.value.line == 3


def _voc_xml(name: str, objects: list[tuple[str, int, int, int, int, int]]) -> str:
    objs = "".join(f"<object><name>{n}</name><difficult>{d}</difficult><bndbox><xmin>{a}</xmin><ymin>{b}</ymin>"
                   f"<xmax>{c}</xmax><ymax>{e}</ymax></bndbox></object>" for n, a, b, c, e, d in objects)
    return (f"<annotation><filename>{name}.jpg</filename><size><width>100</width><height>80</height>"
            f"<depth>3</depth></size>{objs}</annotation>")


def test_voc_reader_split_difficult_and_coordinates(tmp_path: Path) -> None:
    (tmp_path / "Annotations").mkdir()
    (tmp_path / "ImageSets" / "Main").mkdir(parents=True)
    (tmp_path / "Annotations" / "0001.xml").write_text(_voc_xml("0001", [("dog", 1, 1, 50, 40, 0),
                                                                         ("cat", 10, 10, 20, 20, 1)]))
    (tmp_path / "Annotations" / "0002.xml").write_text(_voc_xml("0002", [("person", 5, 6, 7, 8, 0)]))
    (tmp_path / "ImageSets" / "Main" / "val.txt").write_text("0002\n0001\n")
    data = read_voc(tmp_path, "val")
    assert [im.path.name for im in data.images] == ["0002.jpg", "0001.jpg"]
    two, one = data.images
    assert one.labels == ("cat", "dog") and one.difficult_only == ("cat",)
    assert one.boxes[0] == Box("dog", 0, 0, 50, 40)  # 1-based inclusive -> continuous
    assert one.size == (100, 80)
    assert data.classes == VOC_CLASSES
    with pytest.raises(BadInput, match="no image set 'test'"):
        read_voc(tmp_path, "test")
    (tmp_path / "ImageSets" / "Main" / "bad.txt").write_text("0001\n0003\n")
    with pytest.raises(BadInput) as e:
        read_voc(tmp_path, "bad")
    assert e.value.line == 2
    (tmp_path / "Annotations" / "0003.xml").write_text("<annotation><object>")
    with pytest.raises(BadInput, match="invalid XML"):
        read_voc(tmp_path)


def test_voc_reader_on_real_samples(shared_data: Path) -> None:
    data = read_tagged(shared_data / "voc-samples")
    assert data.kind == "voc" and len(data.images) == 3
    assert "_background_" not in data.classes and "person" in data.classes and "bus" in data.classes
    by_name = {im.path.name: im for im in data.images}
    assert all(im.path.exists() for im in data.images)
    first = by_name["2011_000003.jpg"]
    assert first.labels == ("person",) and len(first.boxes) == 2 and first.size == (500, 338)
    assert first.boxes[0].x0 == pytest.approx(190.0) and first.boxes[0].x1 == pytest.approx(313.0)
    assert {c for im in data.images for c in im.labels} == {"person", "bus", "car"}


def test_coco_reader(tmp_path: Path) -> None:
    (tmp_path / "val2017").mkdir()
    (tmp_path / "val2017" / "1.jpg").write_bytes(b"")
    ann = tmp_path / "annotations"
    ann.mkdir()
    doc = {"images": [{"id": 1, "file_name": "1.jpg", "width": 64, "height": 48},
                      {"id": 2, "file_name": "2.jpg", "width": 64, "height": 48}],
           "categories": [{"id": 18, "name": "dog"}, {"id": 3, "name": "car"}],
           "annotations": [{"image_id": 1, "category_id": 18, "bbox": [2, 3, 10, 20], "iscrowd": 0},
                           {"image_id": 1, "category_id": 3, "bbox": [0, 0, 0, 5]}]}
    (ann / "instances_val2017.json").write_text(json.dumps(doc))
    data = read_coco(ann / "instances_val2017.json")
    assert data.classes == ("car", "dog")  # by category id
    one, two = data.images
    assert one.path == tmp_path / "val2017" / "1.jpg"  # found beside the annotations folder
    assert one.labels == ("dog",) and one.boxes == (Box("dog", 2, 3, 12, 23),)
    assert two.labels == ()
    doc["annotations"].append({"image_id": 9, "category_id": 3, "bbox": [0, 0, 1, 1]})
    (ann / "bad.json").write_text(json.dumps(doc))
    with pytest.raises(BadInput, match="image id 9"):
        read_coco(ann / "bad.json")


def test_read_tagged_rejects_unknown_layouts(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="no such"):
        read_tagged(tmp_path / "missing")
    with pytest.raises(BadInput, match="not a localisation data folder"):
        read_tagged(tmp_path)
    (tmp_path / "x.txt").write_text("")
    with pytest.raises(BadInput, match="unknown data format"):
        read_tagged(tmp_path / "x.txt")


def test_digits_generator_is_deterministic_with_true_boxes(tmp_path: Path) -> None:
    from PIL import Image

    a = make_digits_split(tmp_path / "a", 6, "train", size=96, digit_px=(20, 30), seed=3)
    b = make_digits_split(tmp_path / "b", 6, "train", size=96, digit_px=(20, 30), seed=3)
    assert [im.boxes for im in a.images] == [im.boxes for im in b.images]
    assert (tmp_path / "a" / "images" / "train_00000.jpg").read_bytes() == (
        tmp_path / "b" / "images" / "train_00000.jpg").read_bytes()
    back = read_tagged(tmp_path / "a")
    assert back.classes == DIGIT_CLASSES and len(back.images) == 6
    for im in back.images:
        w, h = Image.open(im.path).size
        assert 0.8 * 96 - 1 <= w <= 1.2 * 96 + 1 and 0.8 * 96 - 1 <= h <= 1.2 * 96 + 1
        assert 1 <= len(im.boxes) <= 3 and set(im.labels) == {b.label for b in im.boxes}
        for box in im.boxes:
            assert 0 <= box.x0 < box.x1 <= w and 0 <= box.y0 < box.y1 <= h
            assert 6 <= box.x1 - box.x0 <= 30 and 10 <= box.y1 - box.y0 <= 30


def test_digit_glyph_splits_are_disjoint() -> None:
    train, _ = load_glyphs("train")
    test, _ = load_glyphs("test")
    assert len(train) + len(test) == 1797
    flat = {g.tobytes() for g in train}
    assert sum(g.tobytes() in flat for g in test) < 10  # only accidental duplicates in the source data
