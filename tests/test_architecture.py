"""The import contracts of pyproject.toml ([tool.importlinter]) hold on the code, and can fail.

lint-imports reads the source without importing it; each run is a subprocess over a tree of our choice
(the real one, or a copy with one deliberate violation), so nothing heavy is imported here.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
CONTRACTS = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]["contracts"]
NAMES = {contract["id"]: contract["name"] for contract in CONTRACTS}


def lint_imports(src: Path) -> tuple[int, set[str], str]:
    """Run lint-imports over the package under ``src``: exit code, names of broken contracts, output."""
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache", str(PYPROJECT)],
        cwd=src.parent,
        # A wide console: one contract per line, whatever the terminal.
        env={**os.environ, "PYTHONPATH": str(src), "COLUMNS": "500"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    broken = {name for name in NAMES.values() if re.search(rf"^{re.escape(name)} BROKEN\b", output, re.M)}
    return result.returncode, broken, output


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the package to break on purpose; returns the folder that holds ``relaydesk``."""
    src = tmp_path / "src"
    shutil.copytree(
        ROOT / "src" / "relaydesk", src / "relaydesk", ignore=shutil.ignore_patterns("__pycache__")
    )
    return src


def add_import(src: Path, module: str, line: str) -> None:
    path = src.joinpath(*module.split(".")).with_suffix(".py")
    path.write_text(path.read_text() + f"\n{line}\n")


def test_the_code_keeps_every_contract():
    code, broken, output = lint_imports(ROOT / "src")
    assert code == 0 and not broken, output
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in output


def test_a_domain_reading_another_domains_repository_breaks_its_contract(tree):
    add_import(
        tree, "relaydesk.knowledge.service", "from relaydesk.tickets.repository import TicketRepository"
    )
    code, broken, output = lint_imports(tree)
    assert code == 1 and broken == {NAMES["tickets-private"]}, output
    assert "relaydesk.knowledge.service -> relaydesk.tickets.repository" in output


def test_another_domains_models_are_allowed_in_annotations_only(tree):
    add_import(
        tree,
        "relaydesk.knowledge.service",
        "if TYPE_CHECKING:\n    from relaydesk.tickets.models import Ticket",
    )
    assert lint_imports(tree)[:2] == (0, set())
    add_import(tree, "relaydesk.knowledge.service", "from relaydesk.tickets.models import Ticket")
    code, broken, output = lint_imports(tree)
    assert code == 1 and broken == {NAMES["tickets-private"]}, output


def test_a_new_cycle_between_domains_breaks_the_acyclic_contract(tree):
    # deflection already builds on tickets; tickets calling back into deflection closes a loop.
    add_import(tree, "relaydesk.tickets.service", "from relaydesk.deflection import service as deflection")
    code, broken, output = lint_imports(tree)
    assert code == 1 and broken == {NAMES["acyclic"]}, output
    assert ".tickets -> .deflection" in output or ".deflection -> .tickets" in output


def test_plumbing_importing_a_domain_breaks_the_layers(tree):
    add_import(tree, "relaydesk.web.deps", "from relaydesk.tickets import service as tickets")
    code, broken, output = lint_imports(tree)
    # tickets already builds on web, so this is a new cycle as well.
    assert code == 1 and broken == {NAMES["layers"], NAMES["plumbing"], NAMES["acyclic"]}, output


def test_a_new_top_level_package_must_be_placed_in_the_layers(tree):
    (tree / "relaydesk" / "routing").mkdir()
    (tree / "relaydesk" / "routing" / "__init__.py").write_text('"""Routing."""\n')
    code, broken, output = lint_imports(tree)
    assert code == 1 and broken == {NAMES["layers"]}, output
    assert "relaydesk.routing" in output


def test_every_domain_with_tables_or_queries_has_its_private_contract():
    layers = next(contract for contract in CONTRACTS if contract["id"] == "layers")["layers"]
    domains = [name.strip() for name in layers[2].split(":")]
    for domain in domains:
        package = ROOT / "src" / "relaydesk" / domain
        owns = sorted(
            ".".join(path.relative_to(ROOT / "src").with_suffix("").parts)
            for path in [*package.rglob("models.py"), *package.rglob("repository.py")]
        )
        if not owns:
            continue
        contract = next((c for c in CONTRACTS if c["id"] == f"{domain}-private"), None)
        assert contract is not None, f"{domain} has {owns}: add a '{domain}-private' contract"
        protected = contract["protected_modules"]
        for module in owns:
            nested = f"relaydesk.{domain}.**.{module.rsplit('.', 1)[1]}"
            assert module in protected or nested in protected, f"{module} is not in {domain}-private"
