"""The README's Dask example runs as a script (two worker processes, as a user runs it) and
prints what the README shows after it."""
import pathlib
import re
import subprocess
import sys

import pytest

pytest.importorskip("dask.array")
pytest.importorskip("distributed")

pytestmark = pytest.mark.slow

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## More data than one machine"
EXAMPLE = re.compile(r"```python\n(?P<code>.*?)```\n\s*```text\n(?P<out>.*?)```", re.S)


def example(readme):
    start = readme.index(SECTION)
    end = readme.index("\n## ", start + len(SECTION))
    return EXAMPLE.search(readme, start, end)


def test_the_readme_dask_example_prints_what_it_shows(tmp_path):
    if not README.exists():
        pytest.skip("the README is not beside the tests (an installed-package run)")
    block = example(README.read_text(encoding="utf-8"))
    assert block is not None, "the Dask section lost its example or its output"
    script = tmp_path / "example.py"
    script.write_text(block["code"], encoding="utf-8")
    # From a folder of its own, so that the installed gdfast is the one imported.
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout == block["out"]

