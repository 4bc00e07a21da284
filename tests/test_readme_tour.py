"""The README's tour runs and prints exactly what the README shows.

Every ```python block of the section "A tour of gradient descent" runs in order in one
namespace; a block followed by a ```text block must print that text. Blocks that draw write
their pictures under docs/ of a temporary directory here, which must then be real PNGs.

`python tests/test_readme_tour.py --update` runs the tour from the repository root instead:
it redraws docs/tour-*.png and rewrites the README's text blocks with what was printed.
"""
import contextlib
import io
import os
import pathlib
import re
import sys

import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"
SECTION = "## A tour of gradient descent"
# A python block, then (optionally, after blank lines or prose-free whitespace) its output.
BLOCK = re.compile(r"```python\n(?P<code>.*?)```\n(?P<gap>\s*)(?:```text\n(?P<out>.*?)```)?",
                   re.S)


def tour_text(readme):
    start = readme.index(SECTION)
    end = readme.index("\n## ", start + len(SECTION))
    return start, end


def tour_blocks(readme):
    start, end = tour_text(readme)
    return list(BLOCK.finditer(readme, start, end))


def run_blocks(blocks):
    """Run each block; returns what each printed."""
    import matplotlib
    matplotlib.use("Agg")
    namespace = {"__name__": "__tour__"}
    printed = []
    for block in blocks:
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            exec(compile(block["code"], "README tour", "exec"), namespace)
        printed.append(buffer.getvalue())
    return printed


def test_readme_tour_prints_what_it_shows(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    if not README.exists():
        pytest.skip("the README is not beside the tests (an installed-package run)")
    readme = README.read_text(encoding="utf-8")
    blocks = tour_blocks(readme)
    assert len(blocks) >= 8, "the tour lost its code"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs").mkdir()
    printed = run_blocks(blocks)
    checked = 0
    for block, output in zip(blocks, printed):
        if block["out"] is not None:
            assert output == block["out"], f"README tour block:\n{block['code']}"
            checked += 1
        else:
            assert output == "", f"a block printed but the README shows no output:\n{output}"
    assert checked >= 6
    pictures = re.findall(r"\]\((docs/tour-[\w-]+\.png)\)", readme)
    assert len(pictures) >= 4
    for picture in pictures:
        assert (tmp_path / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", picture
        assert (README.parent / picture).exists(), f"{picture} is not committed"


def update():
    """Run the tour from the repository root; rewrite its output blocks."""
    os.chdir(README.parent)
    readme = README.read_text(encoding="utf-8")
    blocks = tour_blocks(readme)
    printed = run_blocks(blocks)
    pieces, position = [], 0
    for block, output in zip(blocks, printed):
        if block["out"] is not None:
            pieces += [readme[position:block.start("out")], output]
            position = block.end("out")
        elif output:
            print(f"a block printed but has no ```text block:\n{block['code']}")
    pieces.append(readme[position:])
    README.write_text("".join(pieces), encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit("usage: python tests/test_readme_tour.py --update")
    update()
