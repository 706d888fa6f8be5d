"""Timed verb-object relations from narration (spaCy): the one extractor of the project.

Used by `wsl discover-steps` (Alayrac et al. 2016, stage 1) and general enough for weak labels of
`align`: any sequence of timed texts (start, end, text, line) gives its direct-object relations
("loosen nut", "jack up car") with their times and source lines. Each relation carries two flags read
from the dependency parse: ``negated`` (a ``neg`` child of the verb or of a verb it depends on:
"don't add sugar", "I never peel them") and ``hypothetical`` (a modal auxiliary
"could/might/can/may/should/would", or a clause contrasted with the speaker's own "but I don't":
"some people add sugar but I don't"). Such a sentence does not say the step is done; callers drop
them (``done`` is False). YouTube's rolling ASR captions
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
    ``phrase`` as said (with one noun modifier), its cue's times and source line, and whether the
    sentence negates it or only says it could be done."""

    verb: str
    obj: str
    phrase: str
    start: float
    end: float
    line: int | None = None
    negated: bool = False
    hypothetical: bool = False

    @property
    def key(self) -> str:
        return f"{self.verb} {self.obj}"

    @property
    def done(self) -> bool:
        """Whether the sentence says the step is done (neither negated nor hypothetical)."""
        return not (self.negated or self.hypothetical)


# Modal auxiliaries that make a sentence say a step may be done, not that it is.
MODALS = frozenset("could might can may should would".split())
# Subjects of a contrasted clause that speak of others' habits ("some people add sugar but I don't").
OTHERS = frozenset("people some others folks you".split())


def _chain(tok: Any) -> list[Any]:
    """The verb and the verbs it is conjoined to or governed by (xcomp/conj), up to its clause head."""
    out = [tok]
    while tok.dep_ in ("conj", "xcomp", "ccomp") and tok.head is not tok:
        tok = tok.head
        out.append(tok)
    return out


def negation_and_modality(verb: Any) -> tuple[bool, bool]:
    """(negated, hypothetical) of a verb token from its dependency parse."""
    chain = _chain(verb)
    negated = any(c.dep_ == "neg" for v in chain for c in v.children)
    modal = any(c.dep_ == "aux" and c.lower_ in MODALS for v in chain for c in v.children)
    # "some people add sugar but I don't": a clause conjoined with "but" whose other half is negated
    contrast = False
    for v in chain:
        for c in list(v.children) + ([v.head] if v.dep_ == "conj" else []):
            if c is v:
                continue
            if c.pos_ in ("VERB", "AUX") and any(g.dep_ == "neg" for g in c.children) and any(
                    g.lower_ == "but" for g in (list(v.children) + list(c.children))):
                contrast = True
    subj_others = any(c.dep_ == "nsubj" and c.lower_ in OTHERS for v in chain for c in v.children)
    contrast = contrast or _elided_denial_after(verb)
    return negated, modal or (contrast and not negated) or (contrast and subj_others)


# Bare auxiliaries that stand for an elided verb phrase in "..., but I don't / won't / never have".
ELIDED_AUX = frozenset("do will would can could have be should shall".split())
# Dependents that show a verb has its own complement (so it is not an elided "I don't").
COMPLEMENTS = frozenset("dobj obj xcomp ccomp attr acomp prep advcl oprd".split())


def _elided_denial_after(verb: Any) -> bool:
    """Whether the verb's cue goes on with "but <subject> <negated bare auxiliary>" ("Some people
    unscrew the screw but I don't."): the small parser often makes that a sentence of its own, so the
    conjunction is not on the verb's dependency chain."""
    doc = verb.doc
    for but in doc[verb.i + 1:]:
        if but.lower_ not in ("but", "though", "although"):
            continue
        for tok in doc[but.i + 1: but.i + 6]:
            if (tok.lemma_.lower() in ELIDED_AUX and any(c.dep_ == "neg" for c in tok.children)
                    and not any(c.dep_ in COMPLEMENTS for c in tok.children)):
                return True
    return False


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
    # a verb the tagger took for an adjective or adverb has that word class's lemma ("Lower" -> "low")
    head = tok.lemma_.lower() if tok.tag_.startswith("VB") or tok.pos_ in ("NOUN", "PROPN") else tok.lower_
    parts = [head] + [c.lower_ for c in tok.children if c.dep_ == "prt"]
    return " ".join(parts)


def _good_word(w: str) -> bool:
    return len(w) >= 2 and w.replace("-", "").isalpha()


def _objects(verb: Any) -> tuple[str | None, list[Any]]:
    """The verb's particle (when the parser mistook it for a preposition) and its object heads."""
    heads = [c for c in verb.children if c.dep_ in ("dobj", "obj")]
    particle = None
    if not heads:  # "so now you jack up the car": the object hangs off the particle
        heads = [g for c in verb.children if c.dep_ == "prt" for g in c.children if g.dep_ == "pobj"]
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
    """Direct-object relations of one parsed cue whose verb starts at or after ``first_char``, each
    with its negation and modality flags."""
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
            # a clause root with a determined direct object is a verb whatever its tag ("Lower the car
            # back down": JJR; "Now unscrew the screw": RB); the determiner keeps stop-word-stripped
            # ASR ("green green paint") out, where such roots are mostly noun chains
            rooted = tok.dep_ == "ROOT" and tok.pos_ in ("ADJ", "ADV", "NOUN", "PROPN") and any(
                c.dep_ in ("dobj", "obj") and any(g.dep_ == "det" for g in c.children) for c in tok.children)
            if not (rooted or (nominal and (tok.dep_ == "ROOT" or particle in ("up", "down", "off", "out")))):
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
            if not _good_word(obj) or obj in STOP_OBJECTS or (base, obj) in STOP_PAIRS or obj == base:
                continue  # a word as its own object ("green green", "inch inch") is a parse artefact
            mods = [c.lemma_.lower() for c in o.children if c.dep_ == "compound" and c.i == o.i - 1
                    and c.pos_ in ("NOUN", "PROPN") and _good_word(c.lemma_)]
            phrase = " ".join([verb, *mods, obj])
            negated, hypothetical = negation_and_modality(tok)
            out.append(Relation(verb, obj, phrase, start, end, line, negated, hypothetical))
    return out


# Words that open a spoken instruction before its verb ("now", "okay, let's", "so now you").
LEADERS = frozenset("now so okay ok next then first and alright right well let 's us you i we just".split())


def recover_known(doc: Any, start: float, end: float, line: int | None, first_char: int, known: set[str],
                  have: set[str], merge_synonyms: bool = True) -> list[Relation]:
    """Relations the parse missed but the task's other cues name: in terse imperatives the small
    model tags the verb as an adverb, adjective or noun ("Now unscrew the screw", "Now whisk
    mixture"). The first word after the clause's leading words ("now", "okay, let's", "so now you"),
    with its particles, and the head noun of the noun phrase after it form a key; it is kept only
    when that key is a relation found elsewhere in the task (``known``) and not already in this cue
    (``have``), so no new step is invented from a misparse."""
    out: list[Relation] = []
    for sent in doc.sents:
        toks = [t for t in sent if t.idx >= first_char and not t.is_punct]
        i = 0
        while i < len(toks) and toks[i].lower_ in LEADERS:
            i += 1
        if i >= len(toks) or toks[i].pos_ in ("DET", "PRON", "AUX", "ADP", "CCONJ", "NUM"):
            continue
        tok = toks[i]
        parts = [tok.lemma_.lower()]
        j = i + 1
        while j < len(toks) and toks[j].lower_ in PARTICLES:
            parts.append(toks[j].lower_)
            j += 1
        while j < len(toks) and toks[j].pos_ in ("DET", "ADJ", "NUM"):
            j += 1
        nouns = []
        while j < len(toks) and toks[j].pos_ in ("NOUN", "PROPN"):
            nouns.append(toks[j])
            j += 1
        if not nouns:
            continue
        verb = " ".join(parts)
        verb = VERB_SYNONYMS.get(verb, verb) if merge_synonyms else verb
        obj = nouns[-1].lemma_.lower()
        key = f"{verb} {obj}"
        if key not in known or key in have or obj == verb.split()[0]:
            continue
        mods = [n.lemma_.lower() for n in nouns[-2:-1] if _good_word(n.lemma_)]
        negated, hypothetical = negation_and_modality(tok)
        out.append(Relation(verb, obj, " ".join([verb, *mods, obj]), start, end, line, negated, hypothetical))
        have = have | {key}
    return out


def extract_relations(narrations: Iterable[Narrated], merge_synonyms: bool = True,
                      batch_size: int = 256) -> list[list[Relation]]:
    """Time-ordered relations of each narration (spaCy; the model is loaded once), negated and
    hypothetical ones included and flagged (filter on ``Relation.done``)."""
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
    docs = list(nlp.pipe(texts, batch_size=batch_size))
    found = [relations_in_doc(doc, cue.start, cue.end, cue.line, first, merge_synonyms)
             for (n, cue, first), doc in zip(jobs, docs, strict=True)]
    known = {r.key for rels in found for r in rels}
    for (n, cue, first), doc, rels in zip(jobs, docs, found, strict=True):
        out[n].extend(rels)
        out[n].extend(recover_known(doc, cue.start, cue.end, cue.line, first, known, {r.key for r in rels},
                                    merge_synonyms))
    for rels in out:
        rels.sort(key=lambda r: (r.start, r.end))
    return out
