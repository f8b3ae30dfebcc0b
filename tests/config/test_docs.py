"""The project's own map stays true (issue 14): `docs/requirements.md` defines every
requirement id the tests cite, and every module and test that the docs cite exists.

Why here and not a link checker: the ids (S8, X1, …) were defined outside the repository, so
a clone could not look them up; now the page in `docs/` is the definition, and a test renamed
or a module moved without the page following fails the fast suite. The known ids are read
from the page itself (CI's clone has no `../shared/`).
"""

import ast
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
REQUIREMENTS = DOCS / "requirements.md"
ARCHITECTURE = DOCS / "architecture.md"
SHARED_REQUIREMENTS = ROOT.parent / "shared" / "REQUIREMENTS.md"

SECTION = re.compile(r"^### ([A-Z]\d{1,2}) ", re.MULTILINE)
CODE_SPAN = re.compile(r"`([^`\n]+)`")
TEST_REF = re.compile(r"^(tests/[\w/]+\.py)::(\w+(?:::\w+)?)$")
# A path of the repository: a top-level folder of ours, then a file or a folder.
TOP_LEVELS = (
    "api|bench|billing|clients|config|credits|demo|docs|scripts|static|templates|tests|webhooks"
)
PATH_REF = re.compile(rf"^(?:{TOP_LEVELS})/[\w./-]*$")


def _sections(text: str) -> dict[str, str]:
    """Each requirement id with the text of its section (up to the next heading)."""
    found: dict[str, str] = {}
    matches = list(SECTION.finditer(text))
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        end = following.start() if following else len(text)
        body = text[match.end() : end].split("\n## ", 1)[0]
        found[match.group(1)] = body
    return found


@cache
def _requirements() -> dict[str, str]:
    return _sections(REQUIREMENTS.read_text(encoding="utf-8"))


def _known_ids() -> set[str]:
    return set(_requirements())


def _id_pattern() -> re.Pattern[str]:
    letters = "".join(sorted({key[0] for key in _known_ids()}))
    return re.compile(rf"\b[{letters}]\d{{1,2}}\b")


def _spans(path: Path) -> list[str]:
    return CODE_SPAN.findall(path.read_text(encoding="utf-8"))


def _module_exists(cited: str) -> bool:
    """A file or folder of the repository; a module `x/y.py` may since have become the
    package `x/y/` (DESIGN: a module past ~500 lines becomes a package of the same name)."""
    path = ROOT / cited
    if cited.endswith("/"):
        return path.is_dir()
    if path.exists():
        return True
    return cited.endswith(".py") and (ROOT / cited[: -len(".py")] / "__init__.py").is_file()


@cache
def _functions(test_file: str) -> set[str]:
    """`name` for every function and `Class::name` for every method the file defines."""
    tree = ast.parse((ROOT / test_file).read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names |= {
                f"{node.name}::{item.name}"
                for item in node.body
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
            }
    return names


def _test_refs(path: Path) -> list[tuple[str, str]]:
    return [match.groups() for span in _spans(path) if (match := TEST_REF.match(span))]


def _ids_cited_by_tests() -> dict[str, set[str]]:
    """Each id cited in a test module's, test class's or test function's docstring, or in a
    test function's name (`…_c5_x3`), with where."""
    pattern = _id_pattern()
    cited: dict[str, set[str]] = {}
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        where = path.relative_to(ROOT).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(
                node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
            ):
                continue
            text = ast.get_docstring(node) or ""
            name = getattr(node, "name", "")
            if name.startswith("test"):
                text += " " + " ".join(part.upper() for part in name.split("_"))
            for found in pattern.findall(text):
                cited.setdefault(found, set()).add(f"{where}::{name}" if name else where)
    return cited


def test_the_requirements_page_defines_each_id_once_with_what_it_means_code_and_tests():
    """Issue 14: every id has one section saying what it means here, the modules that
    implement it and at least one test that proves it."""
    # Given the requirements page
    text = REQUIREMENTS.read_text(encoding="utf-8")
    # When its sections are read
    headings = SECTION.findall(text)
    # Then each id has one section, and each section has its three parts
    assert len(headings) == len(set(headings)), "an id is defined twice"
    incomplete = [
        key
        for key, body in _requirements().items()
        if "**Here:**" not in body
        or "**Code:**" not in body
        or "**Tests:**" not in body
        or not any(TEST_REF.match(span) for span in CODE_SPAN.findall(body))
        or not any(PATH_REF.match(span) for span in CODE_SPAN.findall(body.split("**Tests:**")[0]))
    ]
    assert incomplete == []


def test_the_requirements_page_keeps_the_ids_of_the_design_brief():
    """Issue 14: the eight families of ids as the requirements define them (C1–C5, D1–D4,
    S1–S8, M1–M5, G1–G7, K1–K5, X1–X6, B1–B7): none lost when the page is edited."""
    # Given the requirements page
    # When its ids are grouped by letter
    by_letter: dict[str, list[int]] = {}
    for key in _known_ids():
        by_letter.setdefault(key[0], []).append(int(key[1:]))
    # Then every family runs from 1 to its last id without a gap
    assert {letter: sorted(numbers) for letter, numbers in by_letter.items()} == {
        "C": list(range(1, 6)),
        "D": list(range(1, 5)),
        "S": list(range(1, 9)),
        "M": list(range(1, 6)),
        "G": list(range(1, 8)),
        "K": list(range(1, 6)),
        "X": list(range(1, 7)),
        "B": list(range(1, 8)),
    }


@pytest.mark.skipif(not SHARED_REQUIREMENTS.exists(), reason="../shared/ is not in this clone")
def test_every_id_of_the_shared_requirements_has_a_section():
    """Issue 14: where the original requirements sit beside the repository, each of their
    ids is defined on the page (a clone without them relies on the test above)."""
    # Given the ids the shared requirements define (a line "- C1 …")
    shared = set(re.findall(r"^- ([A-Z]\d{1,2}) ", SHARED_REQUIREMENTS.read_text(), re.MULTILINE))
    # Then the page defines each of them, and no other
    assert shared == _known_ids()


@pytest.mark.parametrize("page", [REQUIREMENTS, ARCHITECTURE], ids=lambda path: path.name)
def test_every_test_the_docs_cite_exists(page):
    """Issue 14: each `tests/….py::test_name` the page cites is a file that defines that
    function (a renamed test or a moved file would leave the page pointing at nothing)."""
    # Given the tests the page cites
    refs = _test_refs(page)
    # When each is looked up in its file
    missing = [
        f"{file}::{name}"
        for file, name in refs
        if not (ROOT / file).is_file() or name not in _functions(file)
    ]
    # Then every one is there
    assert refs
    assert missing == []


@pytest.mark.parametrize("page", [REQUIREMENTS, ARCHITECTURE], ids=lambda path: path.name)
def test_every_module_the_docs_cite_exists(page):
    """Issue 14: each path of the repository the page cites (`credits/funding.py`,
    `credits/sql/`) is there, as a file, a folder, or a module turned into a package."""
    # Given the paths the page cites
    paths = [
        span
        for span in _spans(page)
        if PATH_REF.match(span) and not TEST_REF.match(span) and "<" not in span
    ]
    # When each is looked up in the repository
    missing = [path for path in paths if not _module_exists(path)]
    # Then every one exists
    assert paths
    assert missing == []


def test_every_id_the_tests_cite_is_defined_in_the_requirements():
    """Issue 14: an id cited in a test's name or docstring (one made up, or one of another
    project) must be looked up somewhere: the requirements page defines every one."""
    # Given the ids cited across the test suite
    cited = _ids_cited_by_tests()
    # When they are compared with the ids the page defines
    undefined = {key: sorted(where)[:3] for key, where in cited.items() if key not in _known_ids()}
    # Then none is missing, and the suite does cite ids (the scan found something)
    assert undefined == {}
    assert {"C1", "D4", "S8", "X1"} <= set(cited)


def test_the_scan_of_the_tests_finds_an_id_in_a_name_and_in_a_docstring():
    """Issue 14: the control of the check above, on a known case: an id in a test's name
    (`…_s8`) and one in its docstring ("S8 worked example") are both found."""
    # Given the suite's citations
    cited = _ids_cited_by_tests()
    # Then a name-only citation and a docstring citation are both seen
    assert (
        "tests/credits/test_spending.py::test_a_client_of_another_organisation_cannot_spend_this_pool_s7"
        in cited["S7"]
    )
    assert (
        "tests/credits/test_expiry.py::test_s8_expired_credits_leave_unassigned_first_then_lists_in_proportion"
        in cited["S8"]
    )
