"""Tests of the charlm corpus: per-character tokenize labels, the split and its manifest, the vocabulary."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest

from lstm_viz.tasks.charlm import data
from lstm_viz.tasks.charlm.data import (
    VOCAB,
    VOCAB_SIZE,
    ManifestMismatch,
    TokenizeFailure,
    build_manifest,
    compare_manifest,
    corpus_labels,
    corpus_text,
    decode,
    encode,
    label_text,
    list_stdlib_files,
    load_split,
    read_source,
    split_of,
    stdlib_root,
)


def marks(src: str, name: str) -> str:
    """A label as a string under the source: '#'/'.' for binary labels, digits for numeric ones."""
    values = label_text(src)[name]
    assert len(values) == len(src)
    if values.dtype == bool:
        return "".join("#" if v else "." for v in values)
    return "".join(str(int(v)) for v in values)


# ------------------------------------------------------------------------------------------------ labels
def test_string_with_escapes_opening_quote_in_closing_quote_out():
    src = 'x = "a\\"b" + \'c\\\\\'\n'
    assert marks(src, "in_string") == "....#####....####.."
    #                                   x = "a\"b" + 'c\\'⏎


def test_string_prefixes_are_not_inside_the_string():
    src = "y = rb'(' + f\"{a}\"\n"
    assert marks(src, "in_string") == "......##.....####.."
    assert marks(src, "bracket_depth") == "0" * len(src)


def test_fstring_with_nested_quotes_and_brackets_is_one_string():
    src = "z = f'{d[\"k\"]!r:>{w}}' + (1)\n"
    #      z = f'{d["k"]!r:>{w}}' + (1)⏎
    assert marks(src, "in_string") == "....." + "#" * 16 + "........"
    assert marks(src, "bracket_depth") == "0" * 25 + "11" + "00"
    assert not label_text(src)["keyword"].any()


def test_triple_quoted_string_spanning_lines():
    src = 's = """a\n(b\n"""\nt = 1\n'
    assert marks(src, "in_string") == "....#####" + "###" + "...." + "......"
    assert marks(src, "bracket_depth") == "0" * len(src)
    assert marks(src, "column") == "012345678" + "012" + "0123" + "012345"
    assert marks(src, "line_start") == "#........" + "#.." + "#..." + "#....."


def test_long_strings_are_the_triple_quoted_part_of_in_string():
    src = 'def f():\n    """Doc \'q\'."""\n    return \'\'\'a\'\'\' + "b" + f"""{x!r}""" + rb\'c\'  # \'\'\'\n'
    #      def f():⏎    """Doc 'q'."""⏎    return '''a''' + "b" + f"""{x!r}""" + rb'c'  # '''⏎
    assert marks(src, "in_long_string") == "." * 13 + "#" * 11 + "." * 15 + "####" + "." * 13 + "#" * 8 + "." * 19
    assert marks(src, "in_string") == ("." * 13 + "#" * 11 + "." * 15 + "####" + "." * 6 + "##" + "." * 5 + "#" * 8
                                       + "." * 8 + "##" + "." * 9)  # fmt: skip
    labels = label_text(src)
    assert not (labels["in_long_string"] & ~labels["in_string"]).any()  # a part of in_string, never outside it


def test_comments_and_brackets_inside_them_are_not_counted():
    src = "a = (1  # ) not closed\n     + 2)  # (\n"
    depth = marks(src, "bracket_depth")
    assert depth == "0000" + "1" * 19 + "1" * 8 + "0" * 7
    assert marks(src, "in_comment") == "." * 8 + "#" * 14 + "." + "." * 11 + "###" + "."


def test_nested_brackets_count_on_the_bracket_itself():
    src = "f([{1: (2,)}])\n"
    assert marks(src, "bracket_depth") == "012333344432100"


def test_indent_is_the_block_level_of_the_line():
    # "    \tpass": a tab after four spaces is deeper under both of CPython's tab readings (8 columns, 1 column), so
    # Python 3.12's tokenizer, which refuses inconsistent tabs and spaces, takes it as 3.11's does.
    src = "def f(a,\n        b):\n    if a:\n    \tpass\n    # c\n    return (a +\n  b)\nx = 1\n"
    indent = label_text(src)["indent"]
    per_line, start = [], 0
    for line in src.split("\n")[:-1]:
        per_line.append(set(indent[start : start + len(line) + 1].tolist()))
        start += len(line) + 1
    assert per_line == [{0}, {0}, {1}, {2}, {2}, {1}, {1}, {0}]  # "# c" keeps the level before it


def test_line_continuation_keeps_depth_and_resets_column():
    src = "x = 1 + \\\n    2\n"
    assert marks(src, "column") == "0123456789" + "012345"
    assert marks(src, "number") == "....#....." + "....#."
    assert marks(src, "indent") == "0" * len(src)


def test_tabs_and_non_ascii_are_one_character_each():
    src = "s = 'héllo→'  # ü(\n\tt = 1\n"
    labels = label_text(src)
    assert len(labels["column"]) == len(src)
    assert marks(src, "in_string") == "....#######" + "." * 8 + "." * 7
    assert marks(src, "in_comment") == "." * 14 + "####" + "." + "." * 7
    assert labels["column"][src.index("t =")] == 1  # after one tab


def test_crlf_gets_the_labels_of_its_universal_newline_form():
    lf = "a = (1,\n  2)  # x\nb = 'y'\n"
    crlf = lf.replace("\n", "\r\n")
    got, want = label_text(crlf), label_text(lf)
    keep = np.array([ch != "\r" for ch in crlf])
    for name in want:
        assert np.array_equal(got[name][keep], want[name]), name
        r_positions = [k for k, ch in enumerate(crlf) if ch == "\r"]
        assert np.array_equal(got[name][r_positions], got[name][[k + 1 for k in r_positions]]), name


def test_keywords_and_numbers():
    src = "if x is not None: y = 0x1F + 2.5e3\n"
    assert marks(src, "keyword") == "##...##.###.####..................."
    assert marks(src, "number") == "......................####...#####."


def test_first_character_is_labelled():
    src = "#!\n'x'\n"
    assert marks(src, "in_comment") == "##......"[: len(src)]
    assert marks(src, "in_string") == "...##.."


@pytest.mark.parametrize("src", ["x = (\n", "s = '''open\n", "def f():\n  x\n y\n"])
def test_text_that_does_not_tokenize_raises(src):
    with pytest.raises(TokenizeFailure):
        label_text(src)


@pytest.mark.parametrize(
    ("src", "in_string", "depth"),
    [
        ("x = (1,\n  2,\n", ".............", "0000111111111"),  # a bracket still open
        ('s = rb"""ab\n', "......######", "000000000000"),  # a string still open: from its first quote
        ('x = f"""{a}\nb\n', ".....#########", "00000000000000"),  # an f-string (FSTRING_START on 3.12+)
    ],
)
def test_the_first_part_of_a_longer_source_is_labelled_as_far_as_it_goes(src, in_string, depth):
    """A file cut at a length limit (the app records at most 10,000 characters) ends inside brackets or a string:
    with prefix=True that is no error, and the labels are what the text up to each character says."""
    with pytest.raises(TokenizeFailure):
        label_text(src)
    labels = label_text(src, prefix=True)
    assert "".join("#" if v else "." for v in labels["in_string"]) == in_string
    assert "".join(str(v) for v in labels["bracket_depth"]) == depth
    assert np.array_equal(labels["in_long_string"], labels["in_string"])  # both open strings are triple-quoted
    for broken in ("x = 'abc\n", "def f():\n  x\n y\n"):  # errors that no continuation would mend still raise
        with pytest.raises(TokenizeFailure):
            label_text(broken, prefix=True)


def test_a_file_cut_at_any_line_end_has_the_labels_of_the_whole_file_so_far():
    root = stdlib_root()
    rng = random.Random(0)
    long_files = [rel for rel in list_stdlib_files() if (root / rel).stat().st_size > 20_000][:40]
    for rel in rng.sample(long_files, 8):
        text = read_source(root / rel)
        whole = label_text(text)
        ends = [i + 1 for i, ch in enumerate(text) if ch == "\n"]
        for cut in rng.sample(ends, 4):
            part = label_text(text[:cut], prefix=True)
            for name, values in whole.items():
                assert np.array_equal(part[name], values[:cut]), (rel, cut, name)


def test_every_label_has_one_value_per_character_on_real_files():
    for rel in list_stdlib_files()[:20]:
        text = data.read_source(data.stdlib_root() / rel)
        labels = label_text(text)
        assert all(len(v) == len(text) for v in labels.values()), rel
        assert labels["bracket_depth"].min() >= 0, rel


# ------------------------------------------------------------------------------------------------ vocabulary
def test_vocab_round_trip():
    text = "def f(x):\n\treturn x ~ 1  # ok\n" + "".join(chr(k) for k in range(32, 127))
    ids = encode(text)
    assert ids.dtype == np.int64 and len(ids) == len(text)
    assert ids.min() >= 1 and ids.max() < VOCAB_SIZE
    assert decode(ids) == text
    assert VOCAB_SIZE == 98 and VOCAB[0] == "<unk>" and len(set(VOCAB)) == VOCAB_SIZE


def test_unknown_characters_are_one_unk_each():
    ids = encode("é\r→\x0cx")
    assert ids.tolist()[:4] == [0, 0, 0, 0] and ids[4] == VOCAB.index("x")
    assert decode(ids) == "\ufffd" * 4 + "x"
    assert decode(ids, unk="<unk>") == "<unk>" * 4 + "x"


# ------------------------------------------------------------------------------------------------ split and manifest
@pytest.fixture(scope="module")
def stdlib_manifest():
    return build_manifest()


@pytest.fixture
def tree(tmp_path):
    files = {
        "a.py": "x = 1\n",
        "pkg/b.py": "def f():\n    return '(' \n",
        "pkg/c.py": "s = '''\n",  # does not tokenize
        "pkg/d.py": "y = 2  # é\n",
        "test/t.py": "x = 1\n",
        "pkg/tests/t.py": "x = 1\n",
        "idlelib/idle_test/t.py": "x = 1\n",
        "site-packages/m.py": "x = 1\n",
    }
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


def test_excluded_folders_are_left_out(tree):
    assert list_stdlib_files(tree) == ["a.py", "pkg/b.py", "pkg/c.py", "pkg/d.py"]


def test_file_that_does_not_tokenize_is_skipped_and_counted(tree):
    manifest = build_manifest(tree)
    assert sorted(manifest["files"]) == ["a.py", "pkg/b.py", "pkg/d.py"]
    assert list(manifest["skipped"]) == ["pkg/c.py"]
    assert manifest["counts"]["skipped"] == 1
    assert "TokenizeFailure" in manifest["skipped"]["pkg/c.py"]


def test_split_is_deterministic_and_depends_only_on_the_path(tree, stdlib_manifest):
    # pinned: sha256 of the path, first 8 hex digits, modulo 100, below 10 → val
    assert [split_of(p) for p in ("os.py", "json/decoder.py", "asyncio/tasks.py", "typing.py")] == [
        "train",
        "train",
        "train",
        "val",
    ]
    assert split_of("asyncio/tasks.py", val_percent=100) == "val"
    assert build_manifest(tree) == build_manifest(tree)
    manifest = stdlib_manifest
    val = [p for p, e in manifest["files"].items() if e["split"] == "val"]
    assert 0.05 < len(val) / len(manifest["files"]) < 0.15
    assert all(split_of(p) == e["split"] for p, e in manifest["files"].items())


def test_manifest_of_the_running_stdlib_matches_itself(stdlib_manifest):
    manifest = stdlib_manifest
    diff = compare_manifest(manifest, manifest)
    assert diff.same and diff.python_version is None
    # CPython's full standard library has ~600 usable files; a slim interpreter image (a GPU machine's) had 468
    assert manifest["counts"]["train"] > 300 and manifest["counts"]["val"] > 15


def test_manifest_mismatch_is_detected_and_described(tree):
    stored = build_manifest(tree)
    assert compare_manifest(stored, build_manifest(tree)).same
    (tree / "a.py").write_text("x = 2\n")
    (tree / "pkg/d.py").unlink()
    (tree / "new.py").write_text("z = 3\n")
    diff = compare_manifest(stored, build_manifest(tree))
    assert not diff.same
    assert diff.changed == ["a.py"] and diff.missing == ["pkg/d.py"] and diff.added == ["new.py"]
    text = diff.describe()
    assert "changed content (1): a.py" in text and "missing now (1): pkg/d.py" in text and "new files (1)" in text
    other_python = dict(stored, python_version="3.99.0")
    assert "python version: stored 3.99.0" in compare_manifest(other_python, stored).describe()
    split = stored["files"]["a.py"]["split"]
    with pytest.raises(ManifestMismatch, match="a.py: content differs"):
        load_split(stored, split, root=tree)


def test_load_split_and_corpus_labels_line_up(tree):
    manifest = build_manifest(tree, val_percent=0)
    texts = load_split(manifest, "train", root=tree)
    assert sorted(texts) == ["a.py", "pkg/b.py", "pkg/d.py"]
    text, spans = corpus_text(texts, shuffle_seed=None)
    labels = corpus_labels(text, spans)
    assert all(len(v) == len(text) for v in labels.values())
    assert [rel for rel, _, _ in spans] == ["a.py", "pkg/b.py", "pkg/d.py"]
    start = text.index("'('")
    assert labels["in_string"][start : start + 3].tolist() == [True, True, False]
    assert labels["bracket_depth"].max() == 1  # only the "()" of "def f()"


def test_a_lone_surrogate_is_one_more_unknown_character():
    """Python decodes a command line's bytes that are not UTF-8 as lone surrogates (surrogateescape); encoding them
    as UTF-32 raised UnicodeEncodeError in encode, label_text and text_input. Each is one <unk>, positions kept."""
    from lstm_viz.tasks.charlm.inputs import text_input

    text = 'x = "\udcff\ud800"\n'
    ids = encode(text)
    assert len(ids) == len(text) and ids[5] == ids[6] == 0 and (ids[:5] != 0).all()
    labels, plain = label_text(text), label_text('x = "ab"\n')
    assert all((labels[name] == plain[name]).all() for name in plain)
    assert "2 characters outside the model's vocabulary" in text_input(text).note


@pytest.mark.parametrize(
    "text, words",
    [
        ('x = "abc\n', "the string that opens at line 1, column 5 is not closed on its line"),
        ("x = 1 $ 2\n", "'$' at line 1, column 7 is not Python"),
        ("$x\n", "'$' at line 1, column 1 is not Python"),
        ("f(1,\n", "a bracket is still open where the text ends"),
        ('x = """abc\n', "a triple-quoted string is still open where the text ends"),
        ("y = 1\nx = (1, 'ab\n", "the string that opens at line 2, column 9 is not closed on its line"),
        ("x = 1 ? 2\n", "'?' at line 1, column 7 is not Python"),
        ("x = `a`\n", "'`' at line 1, column 5 is not Python"),
        ("x = 1 ! 2\n", "'!' at line 1, column 7 is not Python"),
        ("€ = 1\n", "'€' at line 1, column 1 is not Python"),
        ("x² = 1\n", "'x²' at line 1, column 1 is not Python"),
    ],
)
def test_text_that_does_not_tokenize_is_named_where_a_person_would_look(text, words):
    """Python 3.11 marks the blank before a bad character as an error token too, so the message read "error token
    ' ' at line 1, column 3" for an unclosed quote; it names the real character now, columns counted from 1."""
    with pytest.raises(TokenizeFailure) as caught:
        label_text(text)
    assert str(caught.value) == words


@pytest.mark.parametrize("prefix", [False, True])
@pytest.mark.parametrize("text, close", [("x = [1]]\ny = 2\n", "]"), ("x = 1)\n", ")"), ("f(a))\n", ")")])
def test_an_unmatched_closing_bracket_is_named(text, close, prefix):
    """A stray ')' was "a bracket is still open where the text ends", and a long text cut at the limit (prefix)
    was labelled with negative bracket depths."""
    with pytest.raises(TokenizeFailure, match=re.escape(f"unmatched '{close}' (line 1)")):
        label_text(text, prefix=prefix)


@pytest.mark.parametrize(
    "reason, place, words",
    [
        ("unterminated string literal (detected at line 2)", (2, 9),
         "the string that opens at line 2, column 9 is not closed on its line"),
        ("unterminated triple-quoted string literal (detected at line 3)", (1, 5),
         "a triple-quoted string is still open where the text ends"),
        ("invalid hexadecimal literal", (1, 6), "invalid hexadecimal literal at line 1, column 6"),
        ("EOF in multi-line statement", (3, 0), "a bracket is still open where the text ends"),
    ],
)  # fmt: skip
def test_tokenize_errors_of_every_python_are_put_in_words(reason, place, words):
    """Python 3.12+'s tokenize raises TokenError(reason, (line, column)) where 3.11 gave an error token (a quote left
    open on its line) or read on (``0x``): the app showed "TokenError: ('unterminated string literal (detected at
    line 1)', (1, 5))". Checked here with the error itself, so that a 3.11 run tests the 3.12 words too."""
    import tokenize

    assert data._tokenize_error_words(tokenize.TokenError(reason, place)) == words


@pytest.mark.parametrize(
    "kind, string, in_fstring, refused",
    [("OP", "$", False, True), ("OP", "?", False, True), ("OP", "!", False, True), ("OP", "!", True, False),
     ("OP", "!=", False, False), ("OP", "->", False, False), ("NAME", "€", False, True),
     ("NAME", "naïve", False, False), ("NUMBER", "1", False, False)],
)  # fmt: skip
def test_characters_that_312_passes_on_as_tokens_are_refused(kind, string, in_fstring, refused):
    """3.12+'s tokenize gives '$' as an OP and '€' as a NAME, where 3.11 gave an error token: the text was labelled
    as if it were Python. Checked on the token itself, so that a 3.11 run tests it too."""
    import tokenize

    tok = tokenize.TokenInfo(getattr(tokenize, kind), string, (1, 0), (1, len(string)), string)
    assert data._not_python(tok, in_fstring) is refused
