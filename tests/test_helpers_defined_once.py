"""A test of the test suite: each helper is defined in one module, so a fix to it reaches every test.

Shared helpers live in ``tests/factories.py`` (or, for one folder's tests, in that folder's conftest.py);
a module-level function of the same name in two test modules is a copy. Fixtures (a conftest may
override one on purpose), pytest hooks and the tests themselves are left out.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _is_fixture(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name == "fixture":
            return True
    return False


def helpers_by_name(root: Path) -> dict[str, list[str]]:
    """Module-level helper functions under ``root``: name -> the modules that define one."""
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted(root.rglob("*.py")):
        for node in ast.parse(path.read_text(), filename=str(path)).body:
            if (
                isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                and not node.name.startswith(("test_", "pytest_"))
                and not _is_fixture(node)
            ):
                found[node.name].append(path.relative_to(root.parent).as_posix())
    return found


def test_no_helper_is_defined_in_two_test_modules():
    copies = {name: modules for name, modules in helpers_by_name(TESTS).items() if len(modules) > 1}
    assert not copies, "helpers defined more than once (keep one in tests/factories.py): " + "; ".join(
        f"{name} in {', '.join(modules)}" for name, modules in sorted(copies.items())
    )


def test_the_check_finds_a_copied_helper(tmp_path):
    (tmp_path / "tests" / "a").mkdir(parents=True)
    helper = "def count(database, model):\n    return 0\n"
    (tmp_path / "tests" / "test_one.py").write_text(helper + "\n\ndef test_one():\n    pass\n")
    (tmp_path / "tests" / "a" / "test_two.py").write_text(helper)
    fixture = "import pytest\n\n\n@pytest.fixture\ndef client():\n    return None\n"
    (tmp_path / "tests" / "conftest.py").write_text(fixture)
    (tmp_path / "tests" / "a" / "conftest.py").write_text(fixture)
    assert dict(helpers_by_name(tmp_path / "tests")) == {
        "count": ["tests/a/test_two.py", "tests/test_one.py"]
    }
