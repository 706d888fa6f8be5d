"""Weak labels from a timed screenplay: who is present, what they do (Laptev et al. 2008).

Action paragraphs are parsed with spaCy into (subject, verb lemma + particle, object) triples, e.g.
"Will gets out of the Chevrolet" -> (WILL, get out, Chevrolet). Subjects are resolved to the cast (the
names of the character cues); he/she resolve to the last cast member mentioned in the scene. Whether
the text negates an action or only makes it possible ("doesn't open", "could open") is read by
`wsl.text.relations.negation_and_modality`, the one reading shared with discover-steps; such a triple
is kept, flagged, and matches no rule. Rules
(YAML or JSON) map triples to action classes and give timed action labels; each scene becomes a bag
(interval, characters, actions) of the kind `wsl cluster --bags` consumes.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wsl.errors import BadInput
from wsl.io import read_text
from wsl.text.relations import negation_and_modality

if TYPE_CHECKING:
    from wsl.alignment.pipeline import AlignResult

__all__ = ["Triple", "ActionRule", "extract_triples", "load_rules", "with_labels"]

PARTICLES = frozenset("out up down in off on away over back around through along aside into onto".split())
_PRONOUNS = {"he": "m", "him": "m", "she": "f", "her": "f", "they": "p", "them": "p"}


@dataclass(frozen=True)
class Triple:
    """One action: subject (a cast name when resolved), verb lemma with its particle, object text."""

    subject: str | None
    verb: str
    object: str | None
    object_lemma: str | None = None
    negated: bool = False  # "Ethan doesn't open the door"
    hypothetical: bool = False  # "she could open the door"

    @property
    def done(self) -> bool:
        """Whether the action text says it happens (neither negated nor only possible)."""
        return not (self.negated or self.hypothetical)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"subject": self.subject, "verb": self.verb, "object": self.object}
        if self.negated:
            out["negated"] = True
        if self.hypothetical:
            out["hypothetical"] = True
        return out


@dataclass(frozen=True)
class ActionRule:
    """An action class: verbs (with particles, e.g. "get out") and, optionally, object nouns."""

    label: str
    verbs: frozenset[str]
    objects: frozenset[str] = frozenset()

    def matches(self, t: Triple) -> bool:
        if t.verb not in self.verbs or not t.done:  # a negated or hypothetical action is no label
            return False
        if not self.objects:
            return True
        words = {w.lower() for w in (t.object or "").split()} | {(t.object_lemma or "").lower()}
        return bool(words & self.objects)


def load_rules(path: str | os.PathLike[str]) -> list[ActionRule]:
    """Read action rules: ``{Label: {verbs: [...], objects: [...]}}`` in YAML or JSON."""
    text, _ = read_text(path)
    try:
        if Path(path).suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except json.JSONDecodeError as e:
        raise BadInput(f"invalid JSON: {e.msg}", path, e.lineno) from None
    except Exception as e:  # yaml.YAMLError: report the line it gives
        mark = getattr(e, "problem_mark", None)
        raise BadInput(f"invalid YAML: {getattr(e, 'problem', e)}", path, mark.line + 1 if mark else None) from None
    if not isinstance(data, dict) or not data:
        raise BadInput("expected a mapping of action labels to {verbs: [...], objects: [...]}", path)
    rules = []
    for label, spec in data.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("verbs"), list) or not spec["verbs"]:
            raise BadInput(f"action {label!r}: expected 'verbs: [list of verbs]' (and optionally 'objects')", path)
        objects = spec.get("objects") or []
        if not isinstance(objects, list):
            raise BadInput(f"action {label!r}: 'objects' must be a list", path)
        rules.append(ActionRule(str(label), frozenset(" ".join(str(v).lower().split()) for v in spec["verbs"]),
                                frozenset(str(o).lower() for o in objects)))
    return rules


class _CastIndex:
    """Maps a name as written in action text (Ethan, Mr. Phelps, DU FOLTIERE) to a cast name."""

    def __init__(self, cast: list[str]):
        self.full = {c.upper(): c for c in cast}
        self.word: dict[str, str] = {}
        for c in cast:  # most frequent first, so a shared first name goes to the main character
            for w in c.replace(".", " ").split():
                if len(w) > 2 and w.isalpha():
                    self.word.setdefault(w.upper(), c)

    def resolve(self, text: str) -> str | None:
        t = " ".join(text.replace(".", " ").upper().split())
        if t in self.full:
            return self.full[t]
        for w in reversed(t.split()):
            if w in self.word:
                return self.word[w]
        return None


def _object_of(verb: Any, particle: Any) -> Any:
    for c in verb.children:
        if c.dep_ in ("dobj", "obj", "attr") and c.pos_ in ("NOUN", "PROPN", "PRON"):
            return c
    for head in ([particle] if particle is not None else []) + [verb]:
        for p in head.children:
            if p.dep_ in ("prep", "agent"):
                for o in p.children:
                    if o.dep_ == "pobj":
                        return o
    return None


def extract_triples(doc: Any, cast: _CastIndex, last_person: list[str | None]) -> list[Triple]:
    """(subject, verb + particle, object) for each verb of a parsed action paragraph.

    ``last_person`` (one item, updated) carries the last cast member mentioned, to resolve he/she.
    """
    out: list[Triple] = []
    subjects: dict[int, list[str | None]] = {}
    for tok in doc:
        if tok.pos_ == "PROPN" or (tok.text.isupper() and len(tok.text) > 1):
            who = cast.resolve(tok.text)
            if who:
                last_person[0] = who
        if tok.pos_ != "VERB":
            continue
        subj_toks = [c for c in tok.children if c.dep_ in ("nsubj", "nsubjpass")]
        names: list[str | None] = []
        for s in subj_toks:
            for part in [s, *[c for c in s.children if c.dep_ == "conj"]]:
                if part.lower_ in _PRONOUNS:
                    names.append(last_person[0])
                else:
                    span = doc[part.left_edge.i: part.i + 1].text
                    names.append(cast.resolve(span) or part.text)
        if not subj_toks:
            if tok.dep_ == "conj" and tok.head.i in subjects:  # "leans over, pulls the pin": shared subject
                names = subjects[tok.head.i]
            else:
                # spaCy reads a sentence-initial name such as "Will" as a modal; take it back.
                first = tok.sent[0]
                who = cast.resolve(first.text) if first.i < tok.i else None
                names = [who] if who else [None]
        subjects[tok.i] = names
        particle = None
        for c in tok.children:
            if c.dep_ == "prt" or (c.dep_ in ("prep", "advmod") and c.lower_ in PARTICLES
                                   and not any(g.dep_ == "pobj" for g in c.children)):
                particle = c
                break
        verb = tok.lemma_.lower() + (" " + particle.lower_ if particle is not None else "")
        obj = _object_of(tok, particle)
        obj_text = None
        obj_lemma = None
        if obj is not None:
            if obj.lower_ in _PRONOUNS:
                obj_text = obj.text
            else:
                obj_text = cast.resolve(obj.text) or doc[obj.left_edge.i: obj.i + 1].text
                obj_text = " ".join(w for w in obj_text.split() if w.lower() not in ("the", "a", "an", "his", "her"))
            obj_lemma = obj.lemma_.lower()
        negated, hypothetical = negation_and_modality(tok)  # the one reading, shared with discover-steps
        for name in names:
            out.append(Triple(name, verb, obj_text, obj_lemma, negated, hypothetical))
    return out


def with_labels(result: AlignResult, rules: list[ActionRule] | None = None) -> AlignResult:
    """A copy of ``result`` with ``labels`` (characters, actions) on each element, ``bags`` (one per
    scene) and, with rules, timed ``actions``; ``result`` itself is left as it was."""
    data = {"elements": copy.deepcopy(list(result.elements))}
    _add_labels(data, list(result.cast), rules)
    return replace(result, elements=tuple(data["elements"]), bags=tuple(data["bags"]),
                   actions=None if rules is None else tuple(data["actions"]))


def _add_labels(result: dict[str, Any], cast: list[str], rules: list[ActionRule] | None = None) -> dict[str, Any]:
    """Fill the dict ``result`` (a private copy, see `with_labels`)."""
    from wsl.text.nlp import load_english

    nlp = load_english()
    index = _CastIndex(cast)
    elements = result["elements"]
    action_idx = [k for k, e in enumerate(elements) if e["type"] in ("action", "shot")]
    docs = dict(zip(action_idx, nlp.pipe((elements[k]["text"] for k in action_idx), batch_size=64), strict=True))
    last_person: list[str | None] = [None]
    bags: list[dict[str, Any]] = []
    timed: list[dict[str, Any]] = []
    scene: dict[str, Any] | None = None

    def open_scene(k: int, e: dict[str, Any]) -> dict[str, Any]:
        return {"element": k, "script_line": e["script_line"], "heading": e["text"] if e["type"] == "scene" else None,
                "start": e.get("start"), "end": e.get("end"), "characters": [], "actions": [], "spoken": [], "lines": 0}

    for k, e in enumerate(elements):
        if e["type"] == "scene" or scene is None:
            if scene is not None:
                bags.append(scene)
            scene = open_scene(k, e)
            last_person = [None]
        chars: list[str] = []
        acts: list[dict[str, Any]] = []
        if e["type"] == "dialogue" and e.get("character"):
            chars.append(e["character"])
            last_person[0] = e["character"]
        elif k in docs:
            doc = docs[k]
            for tok in doc:
                if tok.pos_ == "PROPN" or (tok.text.isupper() and len(tok.text) > 1):
                    who = index.resolve(tok.text)
                    if who and who not in chars:
                        chars.append(who)
            for t in extract_triples(doc, index, last_person):
                rec = t.to_dict()
                labels = [r.label for r in (rules or []) if r.matches(t)]
                if labels:
                    rec["labels"] = labels
                    for lab in labels:
                        who = t.subject if t.subject in cast else None
                        timed.append({"label": lab, "character": who, "start": e.get("start"),
                                      "end": e.get("end"), "element": k, "script_line": e["script_line"],
                                      "interpolated": bool(e.get("interpolated")), "triple": t.to_dict()})
                if t.subject and t.subject in cast and t.subject not in chars:
                    chars.append(t.subject)
                acts.append(rec)
        e["labels"] = {"characters": chars, "actions": acts}
        for c in chars:
            if c not in scene["characters"]:
                scene["characters"].append(c)
        for a in acts:
            for lab in a.get("labels", []):
                if lab not in scene["actions"]:
                    scene["actions"].append(lab)
        if e["type"] == "dialogue":
            scene["lines"] += 1
        if e.get("aligned"):
            scene["spoken"].append((e["start"], e["end"]))
    if scene is not None:
        bags.append(scene)
    for bag in bags:
        # A scene runs from its heading (placed after the previous aligned line, so the silent action
        # between scenes belongs to the scene it opens) to its last aligned line; with none, the
        # interpolated interval of its heading.
        spoken = bag.pop("spoken")
        if spoken:
            first = min(a for a, _ in spoken)
            bag["start"] = first if bag["start"] is None else min(bag["start"], first)
            bag["end"] = max(b for _, b in spoken)
        bag["interpolated"] = not spoken
        # A scene whose every line was abstained on was most likely cut from the film.
        bag["in_film"] = bool(spoken) if bag.pop("lines") else None
    result["bags"] = [b for b in bags if b["heading"] or b["characters"]]
    if rules is not None:
        result["actions"] = timed
    return result
