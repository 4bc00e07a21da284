"""What an installed gdfast carries: its compiled kernels' stubs, the typing marker, and (in
the wheel check) the proof that it was imported from site-packages."""
import ast
import os
import pathlib

import pytest

import gdfast
from gdfast.linear_model import _engine

PACKAGE = pathlib.Path(gdfast.__file__).parent


def declared_names(stub_name):
    """Names a stub declares, following `from gdfast.x import *` re-exports."""
    tree = ast.parse((PACKAGE / "_kernels" / f"{stub_name}.pyi").read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign):
            names.add(node.target.id)
        elif isinstance(node, ast.ImportFrom) and node.names[0].name == "*":
            names |= declared_names(node.module.rsplit(".", 1)[1])
    return names


@pytest.mark.skipif(os.environ.get("GDFAST_TEST_INSTALLED") != "1",
                    reason="set by .ci/run and .ci/wheel, which test an installed package")
def test_gdfast_was_imported_from_site_packages():
    assert "site-packages" in gdfast.__file__, gdfast.__file__


def test_typing_marker_and_stubs_are_installed():
    assert (PACKAGE / "py.typed").exists()
    for module in _engine.available_kernels():
        declared = declared_names(module.__name__.rsplit(".", 1)[1])
        public = {name for name in dir(module) if not name.startswith("_") and name.isupper()
                  or name in ("run_epoch", "batch_gradient", "optimizer_step",
                              "cpu_supports_avx2_fma", "read_rows_in_order",
                              "logistic_chain")}
        assert public <= declared, public - declared


ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.skipif(not (ROOT / ".ci" / "lowest").exists(),
                    reason="the CI scripts are not beside the tests (an installed-package run)")
def test_ci_tests_the_lowest_versions_the_package_declares():
    """.ci/lowest pins exactly the lower bounds pyproject.toml declares, so that what the
    package promises to run on is what CI runs the suite on."""
    import re
    pyproject = (ROOT / "pyproject.toml").read_text()
    script = (ROOT / ".ci" / "lowest").read_text()
    declared_python = re.search(r'requires-python = ">=([\d.]+)"', pyproject).group(1)
    assert re.search(r"^LOWEST_PYTHON=(\S+)$", script, re.M).group(1) == declared_python
    dependencies = re.search(r"^dependencies = \[(.*?)\]", pyproject, re.M | re.S).group(1)
    declared = dict(re.findall(r'"([A-Za-z0-9_-]+)>=([\d.]+)"', dependencies))
    pins = dict(re.findall(r"([A-Za-z0-9_-]+)==([\d.]+)",
                           re.search(r'^LOWEST_PINS="(.*)"$', script, re.M).group(1)))
    assert set(pins) == set(declared)
    for name, lowest in declared.items():
        # numpy>=1.24 is met by the pin 1.24.4: the pin starts with the declared version.
        assert (pins[name] + ".").startswith(lowest + "."), (name, pins[name], lowest)


def test_the_network_kernel_has_its_stub():
    from gdfast._kernels import mlp
    declared = declared_names("mlp")
    public = {name for name in dir(mlp) if not name.startswith("_")
              and (name.isupper() or callable(getattr(mlp, name)))} - {"threading", "np"}
    assert public == declared
