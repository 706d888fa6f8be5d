from __future__ import annotations

import pytest
import torch

from wsl.errors import BadInput
from wsl.features.backbones import TRUNKS, ClipEncoder, ImageTrunk, load_weights, make_trunk, save_weights


@pytest.mark.parametrize("name", list(TRUNKS))
def test_trunk_output_matches_documented_channels_and_stride(name: str) -> None:
    trunk = make_trunk(name).eval()
    for h, w in ((64, 64), (100, 130)):
        out = trunk(torch.randn(2, 3, h, w))
        assert out.shape == (2, trunk.out_channels, -(-h // trunk.stride), -(-w // trunk.stride))


def test_trunk_is_trainable_from_scratch() -> None:
    torch.manual_seed(0)
    trunk = ImageTrunk((8, 16), stride=4)
    head = torch.nn.Conv2d(trunk.out_channels, 1, 1)
    x = torch.randn(8, 3, 16, 16)
    y = (x[:, 0].mean(dim=(1, 2)) > 0).float()  # a learnable target: sign of the red channel's mean
    opt = torch.optim.Adam([*trunk.parameters(), *head.parameters()], lr=1e-2)
    losses = []
    for _ in range(30):
        logits = head(trunk(x)).amax(dim=(1, 2, 3))
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_clip_encoder_shapes() -> None:
    enc = ClipEncoder(out_dim=64).eval()
    assert enc(torch.randn(3, 4, 3, 32, 32)).shape == (3, 64)
    with pytest.raises(ValueError):
        enc(torch.randn(3, 3, 32, 32))


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_weights_round_trip(tmp_path, suffix: str) -> None:
    a, b = make_trunk("tiny"), make_trunk("tiny")
    path = tmp_path / f"w{suffix}"
    if suffix == ".pt":
        torch.save({"state_dict": {f"module.{k}": v for k, v in a.state_dict().items()}}, path)
    else:
        save_weights(a, path)
    load_weights(b, path)
    for k, v in a.state_dict().items():
        assert torch.equal(v, b.state_dict()[k])


def test_weights_of_a_sub_module_by_prefix(tmp_path) -> None:
    enc = ClipEncoder(out_dim=16)
    save_weights(enc, tmp_path / "enc.safetensors")
    trunk = make_trunk("tiny")
    load_weights(trunk, tmp_path / "enc.safetensors", prefix="trunk.")
    assert torch.equal(trunk.state_dict()["body.0.weight"], enc.trunk.state_dict()["body.0.weight"])


def test_mismatched_weights_are_named(tmp_path) -> None:
    save_weights(make_trunk("tiny"), tmp_path / "tiny.safetensors")
    with pytest.raises(BadInput, match="shape mismatch") as e:
        load_weights(make_trunk("small"), tmp_path / "tiny.safetensors")
    assert "tiny.safetensors" in str(e.value)
    torch.save({"other.weight": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(BadInput, match="missing key"):
        load_weights(make_trunk("tiny"), tmp_path / "other.pt")


def test_pickled_objects_are_refused(tmp_path) -> None:
    torch.save({"model": make_trunk("tiny")}, tmp_path / "pickled.pt")  # a whole module, not a state dict
    with pytest.raises(BadInput, match="refused to load these weights"):
        load_weights(make_trunk("tiny"), tmp_path / "pickled.pt")
    with pytest.raises(BadInput, match="no such weights"):
        load_weights(make_trunk("tiny"), tmp_path / "none.pt")
