"""Mining-YouTube action segments (Kuehne et al. 2019; GPL-3): one ``.srt`` per video, each cue one
action (``verb_object``) with its start and end. Frames outside every cue are background.

Reads a folder of ``.srt`` files or the dataset's ``annotations.tar.gz`` directly. The duration is
not in the files: it is taken as the end of the last cue unless ``durations`` gives it.
"""

from __future__ import annotations

import os
import tarfile
from collections.abc import Mapping
from pathlib import Path

from wsl.data.segments import ActionVideo, Segment
from wsl.errors import BadInput
from wsl.io import decode_bytes


def parse_action_srt(text: str, video: str, path: str | None = None, duration: float | None = None) -> ActionVideo:
    """One video's action cues; each cue's label is its first non-empty text line."""
    import pysrt

    try:
        cues = pysrt.from_string(text, error_handling=pysrt.ERROR_RAISE)
    except Exception as e:  # pysrt raises its own error types
        raise BadInput(f"not a valid .srt file ({e})", path) from None
    segs = []
    for cue in cues:
        label = cue.text.strip().splitlines()[0].strip() if cue.text.strip() else ""
        if not label:
            raise BadInput(f"cue {cue.index} has no label", path)
        segs.append(Segment(label, cue.start.ordinal / 1000.0, cue.end.ordinal / 1000.0, int(cue.index)))
    if not segs:
        raise BadInput("no cues", path)
    segs.sort(key=lambda s: (s.start, s.end))
    end = max(s.end for s in segs)
    return ActionVideo(video, max(duration or 0.0, end), tuple(segs))


def read_mining_youtube(source: str | os.PathLike[str], videos: list[str] | None = None,
                        durations: Mapping[str, float] | None = None) -> list[ActionVideo]:
    """All videos (or ``videos``) of a folder of ``<id>.srt`` files or of ``annotations.tar.gz``, sorted by id."""
    source = Path(source)
    durations = durations or {}
    texts: dict[str, tuple[bytes, str]] = {}
    if source.is_dir():
        for p in sorted(source.glob("*.srt")):
            texts[p.stem] = (p.read_bytes(), str(p))
    elif source.name.endswith((".tar.gz", ".tgz", ".tar")):
        try:
            with tarfile.open(source) as tar:
                for m in tar.getmembers():
                    if m.isfile() and m.name.endswith(".srt"):
                        f = tar.extractfile(m)
                        if f is not None:
                            texts[Path(m.name).stem] = (f.read(), f"{source}:{m.name}")
        except (tarfile.TarError, OSError) as e:
            raise BadInput(f"cannot read archive ({e})", source) from None
    else:
        raise BadInput("expected a folder of .srt files or annotations.tar.gz", source)
    if not texts:
        raise BadInput("no .srt files found", source)
    ids = sorted(texts) if videos is None else videos
    out = []
    for vid in ids:
        if vid not in texts:
            raise BadInput(f"no annotations for video {vid}", source)
        data, where = texts[vid]
        text, _ = decode_bytes(data, where)
        out.append(parse_action_srt(text, vid, where, durations.get(vid)))
    return out
