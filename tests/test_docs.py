"""docs/mathematics.md defines every option the code declares, with the code's defaults, and
every pointer to it (from the sources, the tests, the README and the document itself) lands on
one of its sections."""
import inspect
import pathlib
import re

import pytest

import gdfast
from gdfast.linear_model import _base, _classifier, _engine
from gdfast.optim import OPTIMIZER_CLASSES, schedules

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "mathematics.md"

if not DOC.exists():
    pytest.skip("docs/ is not beside the tests (an installed-package run)",
                allow_module_level=True)

TEXT = DOC.read_text(encoding="utf-8")
HEADING = re.compile(r"^(#{1,6}) (.+?)\s*$", re.M)
FRACTIONS = {"¼": 0.25, "½": 0.5}


def headings():
    return [match.group(2) for match in HEADING.finditer(TEXT)]


def anchor(heading):
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.lower())
    return text.replace(" ", "-")


def section(title):
    """The text under the heading `title`, up to the next heading of the same or a higher level."""
    for match in HEADING.finditer(TEXT):
        if match.group(2) == title:
            level = len(match.group(1))
            following = re.compile(rf"^#{{1,{level}}} ", re.M).search(TEXT, match.end())
            return TEXT[match.end():following.start() if following else len(TEXT)]
    raise AssertionError(f"docs/mathematics.md has no section {title!r}")


def table_rows(text):
    """The cells of every Markdown table row in `text`, header and separator rows left out."""
    rows = []
    for line in text.splitlines():
        if line.startswith("|") and not re.match(r"^\|[-| ]+\|$", line):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows[1:] if rows else rows


def constructor(cls):
    """`Name(param=default, ...)` as the document writes it: 0.0 as 0, 1e-08 as 1e-8."""
    def value(default):
        if isinstance(default, float):
            return f"{default:g}".replace("e-0", "e-")
        return str(default)
    parameters = inspect.signature(cls).parameters.values()
    arguments = ", ".join(f"{p.name}={value(p.default)}" for p in parameters)
    return f"{cls.__name__}({arguments})"


@pytest.mark.parametrize("name", _engine.OPTIMIZER_NAMES)
def test_every_optimizer_has_a_section_with_its_defaults_and_auto_rate(name):
    assert f"`{name}`" in headings()
    text = section(f"`{name}`")
    cls = OPTIMIZER_CLASSES[name]
    assert f"`{constructor(cls)}`" in text
    auto = "1/L" if cls.plain_gradient else str(cls.default_learning_rate)
    assert re.search(rf'"auto"\s+rate:\s+{re.escape(auto)}\b', text), (name, auto)


@pytest.mark.parametrize("name", _engine.LOSS_NAMES)
def test_every_loss_is_defined_in_the_loss_table(name):
    names = [row[0] for row in table_rows(section("Losses"))]
    assert any(cell.startswith(f"`{name}`") for cell in names), names


def test_every_schedule_is_in_the_schedule_table_with_its_defaults():
    rows = {row[0].split()[0]: row for row in table_rows(section("Learning-rate schedules"))}
    assert set(rows) == {f"`{name}`" for name in schedules.SCHEDULE_CLASSES}
    for name, cls in schedules.SCHEDULE_CLASSES.items():
        assert rows[f"`{name}`"][1] == f"`{constructor(cls)}`"
    assert "`warmup_steps" in section("Learning-rate schedules")


def test_every_penalty_and_multiclass_mode_is_named():
    penalties = [row[0] for row in table_rows(section("The objective"))]
    declared = _base.BaseGD._parameter_constraints["penalty"]
    names = [None] + [name for option in declared if option is not None
                      for name in option.options]
    assert len(names) > 1
    for penalty in names:
        assert (f'`"{penalty}"`' if penalty else f"`{penalty}`") in " ".join(penalties)
    (modes,) = _classifier.GDClassifier._parameter_constraints["multi_class"]
    for mode in modes.options:
        assert f'`multi_class="{mode}"`' in section("The model")


def test_automatic_rate_uses_the_curvature_bounds_of_the_code():
    """The document's table of c against gdfast.linear_model._base.CURVATURE (three or more
    classes of log_loss double it, the softmax bound)."""
    seen = set()
    for cell, bound in table_rows(section("The automatic learning rate")):
        value = FRACTIONS.get(bound) or float(bound)
        for name in re.findall(r"`(\w+)`", cell):
            expected = _base.CURVATURE[name] * (2 if "three or more" in cell else 1)
            assert value == expected, (name, cell, value, expected)
            seen.add(name)
    assert seen == set(_engine.LOSS_NAMES)


def pointer_sources():
    """The files that may point into the document: the package's sources, the tests, the
    README and the document itself."""
    package = ROOT / "src" / "gdfast"
    if not package.exists():
        package = pathlib.Path(gdfast.__file__).parent
    files = [path for pattern in ("*.py", "*.pyx", "*.pxd", "*.pyi", "*.h")
             for path in package.rglob(pattern)]
    files += sorted((ROOT / "tests").glob("*.py"))
    files += [path for path in (ROOT / "README.md", DOC) if path.exists()]
    return files


def test_every_pointer_to_the_document_lands_on_a_section():
    titles = set(headings())
    anchors = {anchor(title) for title in titles}
    checked = 0
    for path in pointer_sources():
        text = path.read_text(encoding="utf-8")
        # `docs/mathematics.md, section "Losses"`, also across a comment's line break
        for title in re.findall(r'docs/mathematics\.md[\s#,(]*section "([^"]+)"', text):
            assert title in titles, (path.name, title)
            checked += 1
        links = re.findall(r"mathematics\.md#([\w\-]+)", text)
        if path == DOC:
            links += re.findall(r"\]\(#([\w\-]+)\)", text)
        for link in links:
            assert link in anchors, (path.name, link)
            checked += 1
    assert checked >= 10, "the pointers to docs/mathematics.md were not found"


def test_the_readme_points_to_the_document():
    readme = ROOT / "README.md"
    if not readme.exists():
        pytest.skip("the README is not beside the tests")
    assert "(docs/mathematics.md)" in readme.read_text(encoding="utf-8")
