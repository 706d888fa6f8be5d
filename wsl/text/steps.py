"""Narrations -> timed verb-object relations: stage 1a of `wsl discover-steps` (Alayrac et al. 2016).

A narration is a list of timed text cues, read from ``.srt``/``.vtt`` (:mod:`wsl.text.subtitles`), a
HowTo100M caption CSV (``start,end,text``) or JSON. spaCy's dependency parse gives the direct-object
relations ("loosen nut", "jack up car") with the time of their cue. YouTube's rolling ASR captions
repeat the previous cue's words at the start of each cue; only a cue's new words yield relations, so
one spoken phrase is not counted twice, while the repeated words still give the parser context.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

# Verbs that carry no step ("go", "want", "let") or are narration chatter ("show", "subscribe").
STOP_VERBS = frozenset("""
be have do go want let need get see know think show like love hope thank watch say tell try guess mean
use give call look come keep start begin finish continue click subscribe share enjoy find
leave seem feel help wish recommend comment follow mention buy hit
""".split())
# Objects that are no step's object: pronouns the parser may tag as nouns, and video talk.
STOP_OBJECTS = frozenset("""
it this that these those them one ones thing things stuff lot bit way time today video videos channel
guy guys everybody everyone people something anything everything nothing some all part step steps
minute minutes second seconds hour hours day week year sure kind sort idea question tutorial recipe
button link description comment comments look job process side end piece pieces couple
""".split())
# Light-verb idioms that read as a verb and an object but name no action.
STOP_PAIRS = frozenset({
    ("make", "sense"), ("make", "use"), ("make", "difference"), ("make", "mistake"), ("make", "home"),
    ("make", "adjustment"), ("take", "care"), ("take", "time"), ("take", "look"), ("take", "advantage"),
    ("take", "place"), ("pay", "attention"), ("cut", "use"), ("have", "fun"), ("make", "sound"),
})
# Particles a parser sometimes reads as prepositions ("jack up the car" -> prep "up" + pobj "car").
PARTICLES = frozenset("up down off out on in over back away aside together apart".split())
# Gerunds that with the next noun name a thing, not an action ("baking powder", "mixing bowl").
GERUND_MODIFIERS = frozenset("""
baking mixing cutting chopping frying rolling cooking whipping dipping serving measuring sewing masking
boiling drinking washing sanding scrubbing grilling roasting
""".split())
# Light merging of near-synonyms (applied to "verb" or "verb particle"), so that "chop onion" and
# "dice onion" support one step. Conservative on purpose: a wrong merge joins two real steps.
VERB_SYNONYMS = {
    "chop": "cut", "dice": "cut", "slice": "cut", "mince": "cut", "cut up": "cut", "chop up": "cut",
    "whisk": "mix", "stir": "mix", "combine": "mix", "blend": "mix", "beat": "mix", "mix up": "mix",
    "mix together": "mix", "stir in": "mix",
    "place": "put", "lay": "put", "set": "put", "put in": "put", "put on": "put on",
    "take off": "remove", "take out": "remove", "pull off": "remove", "pull out": "remove",
    "rinse": "wash", "rinse off": "wash", "wash off": "wash",
    "warm": "heat", "warm up": "heat", "heat up": "heat", "preheat": "heat",
    "saute": "fry", "sautee": "fry", "pan-fry": "fry",
    "grab": "take", "pick up": "take",
    "fill up": "fill", "clean up": "clean", "wipe down": "wipe", "wipe off": "wipe",
    "unscrew": "loosen", "screw in": "tighten",
}


class TimedText(Protocol):
    """A caption as :mod:`wsl.data.narration` reads it: start, end (s), text, source line."""

    @property
    def start(self) -> float: ...
    @property
    def end(self) -> float: ...
    @property
    def text(self) -> str: ...
    @property
    def line(self) -> int | None: ...


class Narrated(Protocol):
    """A video's captions in time order (:class:`wsl.data.narration.Narration`)."""

    @property
    def captions(self) -> Sequence[TimedText]: ...


@dataclass(frozen=True)
class Relation:
    """A direct-object relation: ``verb`` (lemma, with particle), ``obj`` (head noun lemma), the
    ``phrase`` as said (with one noun modifier), its cue's times and source line."""

    verb: str
    obj: str
    phrase: str
    start: float
    end: float
    line: int | None = None

    @property
    def key(self) -> str:
        return f"{self.verb} {self.obj}"


# ---------------------------------------------------------------------------------------------
# Rolling captions
# ---------------------------------------------------------------------------------------------
def new_word_offsets(cues: Sequence[TimedText]) -> list[int]:
    """For each cue, how many of its leading words repeat the end of the previous cue.

    YouTube ASR captions roll: each cue starts with the previous cue's last line. The repeated
    prefix is the longest run of leading words equal to a suffix of the previous cue.
    """
    out = []
    prev: list[str] = []
    for c in cues:
        words = c.text.lower().split()
        k = 0
        for n in range(min(len(prev), len(words)), 0, -1):
            if prev[-n:] == words[:n]:
                k = n
                break
        out.append(k)
        prev = words
    return out


# ---------------------------------------------------------------------------------------------
# Relations
# ---------------------------------------------------------------------------------------------
def _verb_name(tok: Any) -> str:
    parts = [tok.lemma_.lower()] + [c.lower_ for c in tok.children if c.dep_ == "prt"]
    return " ".join(parts)


def _good_word(w: str) -> bool:
    return len(w) >= 2 and w.replace("-", "").isalpha()


def _objects(verb: Any) -> tuple[str | None, list[Any]]:
    """The verb's particle (when the parser mistook it for a preposition) and its object heads."""
    heads = [c for c in verb.children if c.dep_ in ("dobj", "obj")]
    particle = None
    if not heads:
        # "jack up the car": a particle-like preposition right after the verb, with its object
        for c in verb.children:
            if c.dep_ == "prep" and c.i == verb.i + 1 and c.lower_ in PARTICLES:
                heads = [g for g in c.children if g.dep_ == "pobj"]
                particle = c.lower_ if heads else None
                break
    out = []
    for h in heads:  # "add salt and pepper": the conjuncts are objects too
        out.append(h)
        out.extend(h.conjuncts)
    return particle, out


def relations_in_doc(doc: Any, start: float, end: float, line: int | None, first_char: int = 0,
                     merge_synonyms: bool = True) -> list[Relation]:
    """Direct-object relations of one parsed cue whose verb starts at or after ``first_char``."""
    out = []
    for tok in doc:
        # a verb by its fine tag too: in stop-word-stripped ASR the coarse tag alone lets nouns through
        is_verb = tok.tag_.startswith("VB") and (tok.pos_ == "VERB" or tok.dep_ == "ROOT")
        if tok.dep_ in ("amod", "compound") or tok.idx < first_char:
            continue
        nxt = tok.nbor(1) if tok.i + 1 < len(doc) else None
        if tok.lower_ in GERUND_MODIFIERS and nxt is not None and nxt.pos_ in ("NOUN", "PROPN"):
            continue  # "baking powder and salt": a thing, whatever the parser made of it
        particle, objs = _objects(tok)
        # an imperative the tagger took for a name ("Jack up the car"): sentence-initial, with objects and
        # either the root or followed by a particle ("up", "off") that heads an object
        if not is_verb:
            nominal = tok.is_sent_start and tok.pos_ in ("PROPN", "NOUN") and objs
            if not (nominal and (tok.dep_ == "ROOT" or particle in ("up", "down", "off", "out"))):
                continue
        verb = _verb_name(tok) + (f" {particle}" if particle else "")
        if merge_synonyms:
            verb = VERB_SYNONYMS.get(verb, verb)
        base = verb.split()[0]
        if not _good_word(base) or base in STOP_VERBS:
            continue
        for o in objs:
            if o.pos_ not in ("NOUN", "PROPN"):
                continue  # pronouns ("cut it"), numbers, adjectives
            obj = o.lemma_.lower()
            if not _good_word(obj) or obj in STOP_OBJECTS or (base, obj) in STOP_PAIRS:
                continue
            mods = [c.lemma_.lower() for c in o.children if c.dep_ == "compound" and c.i == o.i - 1
                    and c.pos_ in ("NOUN", "PROPN") and _good_word(c.lemma_)]
            phrase = " ".join([verb, *mods, obj])
            out.append(Relation(verb, obj, phrase, start, end, line))
    return out


def extract_relations(narrations: Iterable[Narrated], merge_synonyms: bool = True,
                      batch_size: int = 256) -> list[list[Relation]]:
    """Time-ordered relations of each narration (spaCy; the model is loaded once)."""
    from wsl.text.nlp import load_english

    nlp = load_english(("ner",))
    narrations = list(narrations)
    jobs: list[tuple[int, TimedText, int]] = []  # (narration index, cue, first new character)
    texts: list[str] = []
    for n, nar in enumerate(narrations):
        for cue, k in zip(nar.captions, new_word_offsets(nar.captions), strict=True):
            text = " ".join(cue.text.split())
            words = text.split(" ")
            first = len(" ".join(words[:k])) + (1 if k else 0)
            if k >= len(words):
                continue  # nothing new in this cue
            jobs.append((n, cue, first))
            texts.append(text)
    out: list[list[Relation]] = [[] for _ in narrations]
    for (n, cue, first), doc in zip(jobs, nlp.pipe(texts, batch_size=batch_size), strict=True):
        out[n].extend(relations_in_doc(doc, cue.start, cue.end, cue.line, first, merge_synonyms))
    for rels in out:
        rels.sort(key=lambda r: (r.start, r.end))
    return out


# ---------------------------------------------------------------------------------------------
# Stage 1 end to end: relations -> aligned template -> K steps
# ---------------------------------------------------------------------------------------------
@dataclass
class TextSteps:
    """The steps the narrations agree on, in order, and where each video narrates them.

    ``steps[k]``: key ("verb object"), label (the most common phrase), support (videos), phrases
    (phrase -> count). ``narrated[n][k]``: the relation of video n aligned to step k, or None.
    ``support_curve``: every template slot's support, best first (what K was chosen from).
    """

    steps: list[dict[str, Any]]
    narrated: list[list[Relation | None]]
    relations: list[list[Relation]]
    support_curve: list[int]
    k_from: str


def discover_text_steps(relations: Sequence[Sequence[Relation]], n_steps: int | None = None, max_slots: int = 20,
                        min_support: int = 2) -> TextSteps:
    """Align the videos' relation sequences (:mod:`wsl.text.msa`) and keep the K best-supported slots.

    K is ``n_steps`` when given, else the knee of the support curve.
    """
    from collections import Counter

    from wsl.text.msa import choose_k, fit_template, keep_best

    vocab: dict[str, int] = {}
    seqs = [[vocab.setdefault(r.key, len(vocab)) for r in rels] for rels in relations]
    n_slots = max(max_slots, n_steps or 0)
    template = fit_template(seqs, max(len(vocab), 1), max_slots=n_slots, min_support=min_support)
    curve = sorted((int(s) for s in template.support), reverse=True)
    if n_steps is not None:
        k, k_from = min(n_steps, len(template)), "--steps"
    else:
        k, k_from = choose_k(template.support, min_support), "support curve"
    slots = keep_best(template, k)
    keys = {i: key for key, i in vocab.items()}
    steps: list[dict[str, Any]] = []
    narrated: list[list[Relation | None]] = [[] for _ in relations]
    for j in slots:
        phrases: Counter[str] = Counter()
        for n, rels in enumerate(relations):
            i = int(template.alignments[n][j])
            r = rels[i] if i >= 0 else None
            narrated[n].append(r)
            if r is not None:
                phrases[r.phrase] += 1
        key = keys[int(template.labels[j])]
        label = phrases.most_common(1)[0][0] if phrases else key
        steps.append({"key": key, "label": label, "support": int(template.support[j]), "phrases": dict(phrases)})
    return TextSteps(steps, narrated, [list(r) for r in relations], curve, k_from)
