"""Calibration of `wsl align`'s speaker confidences on the TBBT fixture, fitted and checked on separate episodes.

Each turn of each subtitle cue carries a speaker, a confidence and the evidence behind it (words,
label, order, inside, continued, guess). The confidences of the fills (`SpeakerRules`) are the shares
of such fills that gold confirms on episodes 1-12 (Season1.trn.lst + dev.lst); this script recounts
them there and checks them on episodes 13-17 (Season1.tst.lst). A turn's gold speaker is the cue's
gold speaker when the cue has one, or the gold speaker at the turn's place when gold lists one per
turn. Prints one JSON line: per split, per (evidence, confidence) bucket, turns and share right; the
speaker accuracy over cues with confidence >= 0.5; and the expected calibration error on the held-out
episodes against the baseline of one confidence (the fit split's share) for every fill.

    python benchmarks/bench_align_speakers.py
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path

from wsl.alignment import align
from wsl.eval.align import evaluate_alignment

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "tbbt-season1"


def _split() -> dict[str, str]:
    out = {}
    for name, split in (("trn", "fit"), ("dev", "fit"), ("tst", "test")):
        for line in (DATA / f"Season1.{name}.lst").read_text().split():
            out[f"S01E{line.strip()[-2:]}"] = split
    return out


def main() -> None:
    t0 = time.perf_counter()
    split = _split()
    buckets: dict[str, dict[tuple[str, float], list[int]]] = {"fit": defaultdict(lambda: [0, 0]),
                                                               "test": defaultdict(lambda: [0, 0])}
    confident = {"fit": [0, 0], "test": [0, 0]}
    for gold_path in sorted((DATA / "aligned-fixture").glob("*.gold.json")):
        ep = gold_path.name.split(".")[0]
        gold = json.loads(gold_path.read_text())
        res = align(gold_path.with_name(f"{ep}.screenplay.txt"), gold_path.with_name(f"{ep}.srt"))
        c = evaluate_alignment(res.to_dict(), gold)["counts"]
        confident[split[ep]][0] += c["cues_confident"]
        confident[split[ep]][1] += c["speakers_correct_confident"]
        by_index = {g["index"]: g["speakers"] for g in gold["cues"]}
        for cue in res.cues:
            g = by_index.get(cue["index"])
            turns = cue["turns"]
            if not g or not (len(g) == len(turns) or len(g) == 1):
                continue
            per = g if len(g) == len(turns) else g * len(turns)
            for t, who in zip(turns, per, strict=True):
                if t["evidence"] is None:
                    continue
                conf = 1.0 if t["evidence"] in ("words", "label") else t["confidence"]  # word votes: one bucket
                b = buckets[split[ep]][(t["evidence"], conf)]
                b[0] += 1
                b[1] += int(t["speaker"] == who)

    def table(s: str) -> dict[str, dict[str, float]]:
        return {f"{ev}@{conf}": {"turns": n, "right": r, "share": round(r / n, 3)}
                for (ev, conf), (n, r) in sorted(buckets[s].items())}

    def fills(s: str) -> dict[tuple[str, float], list[int]]:
        return {k: v for k, v in buckets[s].items() if k[0] not in ("words", "label")}

    n_fit = sum(n for n, _ in fills("fit").values())
    p_one = sum(r for _, r in fills("fit").values()) / max(1, n_fit)  # the baseline: one confidence for all

    def ece(s: str, one: bool) -> float:
        total = sum(n for n, _ in fills(s).values())
        return round(sum(abs((p_one if one else conf) - r / n) * n
                         for (_, conf), (n, r) in fills(s).items()) / max(1, total), 4)

    out = {
        "fit_episodes": sum(1 for v in split.values() if v == "fit"),
        "test_episodes": sum(1 for v in split.values() if v == "test"),
        "fit": table("fit"), "test": table("test"),
        "speaker_accuracy_confident": {s: round(r / max(1, n), 4) for s, (n, r) in confident.items()},
        "ece_test_fills": ece("test", False), "ece_test_fills_one_confidence": ece("test", True),
    }
    out["ratio_ece_vs_one_confidence"] = round(out["ece_test_fills"] / max(1e-9, out["ece_test_fills_one_confidence"]),
                                               3)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
