"""Token normalisation and screenplay readers (plain text in both layouts, Fountain, FDX, HTML, PDF)."""

from __future__ import annotations

from pathlib import Path

import pytest

from wsl.errors import BadInput
from wsl.text.normalize import number_words, tokenize
from wsl.text.screenplay import parse_fountain, parse_text, read_screenplay

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "align"


def norms(text: str) -> list[str]:
    return [t.norm for t in tokenize(text)]


def test_normalisation_makes_script_and_subtitle_spellings_meet():
    assert norms("It's OK, I'm gonna go.") == norms("it is okay i am going to go")
    assert norms("Won't you? Can't!") == ["will", "not", "you", "can", "not"]
    assert norms("in 1998, at 9 or 20 past") == norms("in nineteen ninety-eight at nine or twenty past")
    assert norms("the 3rd of 1,500") == ["the", "third", "of", "one", "thousand", "five", "hundred"]
    assert norms("Thank-you, semi-pro Mr. Smith’s") == ["thank", "you", "semi", "pro", "mister", "smith"]
    assert norms("Umm... uh, yeah") == ["um", "uh", "yes"]
    assert number_words(2024) == ["two", "thousand", "twenty", "four"]


def test_tokens_keep_their_character_spans():
    text = "Hi, it's 20."
    toks = tokenize(text)
    assert [(t.norm, text[t.start:t.end]) for t in toks] == [("hi", "Hi"), ("it", "it's"), ("is", "it's"),
                                                             ("twenty", "20")]


def test_indented_screenplay_example():
    sp = read_screenplay(EXAMPLES / "lighthouse.txt")
    assert sp.layout == "indented"
    d = sp.dialogue
    assert len(d) == 19 and sp.cast[:2] == ["MAREN", "TOBIAS"]
    first = d[0]
    assert (first.character, first.line, first.text) == ("TOBIAS", 15, "You said the lamp was fixed last winter.")
    paren = next(e for e in d if e.line == 23)
    assert paren.parentheticals == ("out of breath",) and paren.text == "Is there a difference?"
    assert next(e for e in d if e.line == 52).extension == "CONT'D"
    assert d[-1].extension == "V.O." and d[-1].character == "MAREN"
    types = [e.type for e in sp.elements]
    assert types.count("scene") == 5 and "transition" in types
    heading = next(e for e in sp.elements if e.type == "scene")
    assert (heading.text, heading.line) == ("EXT. LIGHTHOUSE - DUSK", 9)


def test_flush_layout_page_furniture_and_more_continued():
    text = "\n".join([
        "INT. KITCHEN - DAY", "", "Anna opens the fridge.", "", "ANNA", "We're out of milk.", "",
        "BEN (O.S.)", "(shouting)", "Then buy some!", "", "12.", "", "ANNA", "I will. But first I want",
        "(MORE)", "", "13.", "", "ANNA (CONT'D)", "to finish my tea.", "", "CUT TO:", "",
    ])
    sp = parse_text(text)
    assert sp.layout == "flush"
    d = sp.dialogue
    assert [(e.character, e.text) for e in d] == [
        ("ANNA", "We're out of milk."), ("BEN", "Then buy some!"),
        ("ANNA", "I will. But first I want to finish my tea.")]
    assert d[1].extension == "O.S." and d[1].parentheticals == ("shouting",) and d[1].line == 8
    assert [e.type for e in sp.elements][-1] == "transition"
    assert not any("12" in e.text for e in sp.elements)


def test_fountain_forced_elements_notes_and_title_page():
    text = "\n".join([
        "Title: Small Hours", "Author: wsl", "", ".THE ROOF", "", "[[a note]] Rain on the tiles.", "",
        "@McCLANE", "Nobody *ever* comes up here.", "", "MIA", "(quietly)", "I do.", "", "> SMASH CUT TO:", "",
        "/* cut", "BOB", "Gone.", "*/", "", "!LOUD NOISES", "",
    ])
    sp = parse_fountain(text)
    assert [(e.type, e.text) for e in sp.elements] == [
        ("scene", "THE ROOF"), ("action", "Rain on the tiles."), ("dialogue", "Nobody ever comes up here."),
        ("dialogue", "I do."), ("transition", "SMASH CUT TO:"), ("action", "LOUD NOISES")]
    assert sp.dialogue[0].character == "MCCLANE" and sp.dialogue[0].line == 8
    assert sp.dialogue[1].parentheticals == ("quietly",)


FDX = """<?xml version="1.0" encoding="UTF-8" standalone="no" ?>
<FinalDraft DocumentType="Script" Template="No" Version="5">
  <Content>
    <Paragraph Type="Scene Heading"><Text>INT. GARAGE - NIGHT</Text></Paragraph>
    <Paragraph Type="Action"><Text>Sam wipes </Text><Text Style="Bold">the</Text><Text> engine.</Text></Paragraph>
    <Paragraph Type="Character"><Text>SAM (V.O.)</Text></Paragraph>
    <Paragraph Type="Parenthetical"><Text>(tired)</Text></Paragraph>
    <Paragraph Type="Dialogue"><Text>It never starts on Mondays.</Text></Paragraph>
    <Paragraph Type="Transition"><Text>CUT TO:</Text></Paragraph>
  </Content>
</FinalDraft>
"""


def test_final_draft_xml(tmp_path):
    p = tmp_path / "s.fdx"
    p.write_text(FDX)
    sp = read_screenplay(p)
    assert sp.format == "fdx"
    assert [(e.type, e.text, e.line) for e in sp.elements] == [
        ("scene", "INT. GARAGE - NIGHT", 4), ("action", "Sam wipes the engine.", 5),
        ("dialogue", "It never starts on Mondays.", 6), ("transition", "CUT TO:", 9)]
    d = sp.dialogue[0]
    assert (d.character, d.extension, d.parentheticals) == ("SAM", "V.O.", ("tired",))
    bad = tmp_path / "b.fdx"
    bad.write_text(FDX.replace("</Content>", ""))
    with pytest.raises(BadInput, match="not well-formed") as e:
        read_screenplay(bad)
    assert e.value.line is not None


def test_script_site_html_pre_block(tmp_path):
    page = ("<html><head><title>x</title></head><body>\n<p>Menu</p>\n<pre>\n"
            "<b>                    INT. SHOP - DAY</b>\n\n          Lou counts the till.\n\n"
            "<b>                              LOU</b>\n                    Fifty &amp; change.\n\n"
            "<b>                              KIM</b>\n                    Count again.\n</pre></body></html>\n")
    p = tmp_path / "s.html"
    p.write_text(page)
    sp = read_screenplay(p)
    assert [(e.character, e.text, e.line) for e in sp.dialogue] == [("LOU", "Fifty & change.", 8),
                                                                     ("KIM", "Count again.", 11)]


def _tiny_pdf(lines: list[str]) -> bytes:
    """A one-page PDF with Courier text at the given indentation (enough for pypdf's layout mode)."""
    ops = []
    for k, line in enumerate(lines):
        indent = len(line) - len(line.lstrip())
        body = line.strip().replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        if body:
            ops.append(f"BT /F1 12 Tf {72 + 7.2 * indent:.1f} {740 - 14 * k} Td ({body}) Tj ET")
    stream = "\n".join(ops).encode("latin-1")
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> "
            b"/Contents 5 0 R >>", b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier >>",
            b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def test_pdf_through_layout_extraction(tmp_path):
    lines = ["INT. BOAT - NIGHT", "", "Waves hit the hull.", "", "                    CAPTAIN",
             "          Hold on to something.", "", "                    CREW", "          (yelling)",
             "          Aye, sir!"]
    p = tmp_path / "s.pdf"
    p.write_bytes(_tiny_pdf(lines))
    sp = read_screenplay(p)
    assert sp.format == "pdf"
    assert [(e.character, e.text, e.page) for e in sp.dialogue] == [("CAPTAIN", "Hold on to something.", 1),
                                                                    ("CREW", "Aye, sir!", 1)]
    broken = tmp_path / "b.pdf"
    broken.write_bytes(b"%PDF-1.4\nnot really\n")
    with pytest.raises(BadInput, match="PDF"):
        read_screenplay(broken)


def test_no_dialogue_says_what_layout_was_expected(tmp_path):
    p = tmp_path / "novel.txt"
    p.write_text("It was a dark and stormy night.\n\nThe rain fell in torrents.\n")
    with pytest.raises(BadInput, match="no dialogue found.*character names in capitals") as e:
        read_screenplay(p)
    assert e.value.path == str(p)
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(BadInput, match="empty"):
        read_screenplay(empty)
