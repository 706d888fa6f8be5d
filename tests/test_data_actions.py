"""Readers of COIN JSON, Mining-YouTube action .srt and MS-TCN/Breakfast frame labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wsl.data.coin import read_coin
from wsl.data.framelabels import read_label_dir
from wsl.data.mining_youtube import read_mining_youtube
from wsl.data.synth import densify
from wsl.errors import BadInput


def test_coin_records_to_transcripts_and_frames(tmp_path: Path) -> None:
    rec = {"class": "MakeTea", "duration": 10.0, "annotation": [
        {"id": "2", "segment": [5.0, 7.0], "label": "pour water"}, {"id": "1", "segment": [1.0, 3.0], "label": "boil"}]}
    p = tmp_path / "coin.json"
    p.write_text(json.dumps([{"vid1": rec}]))
    (v,) = read_coin(p)
    assert v.transcript == ["boil", "pour water"] and v.task == "MakeTea"
    frames = v.frames(1.0)
    assert frames[:4] == ["background", "boil", "boil", "background"] and len(frames) == 10
    assert densify(v).frames(1.0) == ["boil"] * 4 + ["pour water"] * 2
    p.write_text(json.dumps({"database": {"vid1": {"duration": 3}}}))
    with pytest.raises(BadInput, match="video vid1: malformed"):
        read_coin(p)


def test_action_srt_folder(tmp_path: Path) -> None:
    (tmp_path / "abc.srt").write_bytes("\ufeff1\n00:00:01,000 --> 00:00:02,500\ncrack_egg\n\n2\n00:00:04,000 --> "
                                       "00:00:05,000\nwhisk_egg\n".encode())
    (v,) = read_mining_youtube(tmp_path)
    assert v.video == "abc" and v.transcript == ["crack_egg", "whisk_egg"] and v.duration == 5.0
    assert v.segments[1].source == 2
    with pytest.raises(BadInput, match="no annotations for video zzz"):
        read_mining_youtube(tmp_path, ["zzz"])


def test_frame_labels_with_mapping_and_background(tmp_path: Path) -> None:
    (tmp_path / "mapping.txt").write_text("0 SIL\n1 pour_milk\n")
    (tmp_path / "v1.txt").write_text("0\n1\n1\n0\n")
    assert read_label_dir(tmp_path, background="SIL") == {"v1": ["background", "pour_milk", "pour_milk",
                                                                 "background"]}
    (tmp_path / "v2.txt").write_text("0\n7\n")
    with pytest.raises(BadInput, match="v2.txt:2: label '7' is not in the mapping"):
        read_label_dir(tmp_path)


def test_real_coin_and_mining_youtube(shared_data: Path) -> None:
    coin = read_coin(shared_data / "coin" / "coin_test_30.json")
    assert len(coin) > 1000 and all(v.segments for v in coin[:50])
    my = read_mining_youtube(shared_data / "mining-youtube" / "test" / "annotations.tar.gz")
    assert len(my) == 250
    frames = my[0].frames(1.0)
    assert "background" in frames and len(my[0].transcript) >= 2


def test_demo_cluster_from_coin_bags(shared_data: Path, tmp_path: Path, run_cli) -> None:
    """`wsl demo-data cluster --coin`: one bag per video of real annotations, a task's videos together."""
    out = tmp_path / "coin"
    code, _, err = run_cli("demo-data", "cluster", out, "--coin", shared_data / "coin" / "coin_test_30.json",
                           "--videos", "12")
    assert code == 0, err
    bags = json.loads((out / "bags.json").read_text())
    gold = json.loads((out / "gold.json").read_text())
    assert len(bags) == 12 and sum(len(b["samples"]) for b in bags) == len(gold)
    assert all({gold[i] for i in b["samples"]} == set(b["labels"]) for b in bags)
    code, _, err = run_cli("cluster", out / "tracks.npy", "--bags", out / "bags.json", "-o", out / "names.json")
    assert code == 0, err
    names = json.loads((out / "names.json").read_text())["samples"]
    assert all(set(b["labels"]) <= {names[i]["label"] for i in b["samples"]} for b in bags)
