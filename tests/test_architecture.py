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
    (tree / "relaydesk" / "insight").mkdir()
    (tree / "relaydesk" / "insight" / "__init__.py").write_text('"""Insight."""\n')
    code, broken, output = lint_imports(tree)
    assert code == 1 and broken == {NAMES["layers"]}, output
    assert "relaydesk.insight" in output


def test_a_domain_importing_another_domains_private_module_breaks_its_contract(tree):
    add_import(tree, "relaydesk.triage.service", "from relaydesk.tickets.destination import choose_recipient")
    code, broken, output = lint_imports(tree)
    assert code == 1 and broken == {NAMES["tickets-private"]}, output
    assert "relaydesk.triage.service -> relaydesk.tickets.destination" in output


def test_a_new_private_module_is_covered_without_editing_the_contracts(tree):
    (tree / "relaydesk" / "tickets" / "merging.py").write_text('"""A new private part of tickets."""\n')
    add_import(tree, "relaydesk.triage.service", "from relaydesk.tickets import merging")
    code, broken, output = lint_imports(tree)
    assert code == 1 and broken == {NAMES["tickets-private"]}, output
    assert "relaydesk.triage.service -> relaydesk.tickets.merging" in output


def test_the_public_surface_and_extension_points_are_open_to_every_domain(tree):
    # deflection already builds on tickets and triage; any of its modules may use their public parts.
    add_import(tree, "relaydesk.deflection.reports", "from relaydesk.tickets import service as tickets")
    add_import(tree, "relaydesk.deflection.reports", "from relaydesk.tickets.panels import ticket_panel")
    add_import(tree, "relaydesk.deflection.reports", "from relaydesk.triage.pipeline import inbound_step")
    code, broken, output = lint_imports(tree)
    assert code == 0 and not broken, output


def test_every_domain_keeps_all_but_its_public_surface_private():
    layers = next(contract for contract in CONTRACTS if contract["id"] == "layers")["layers"]
    domains = [name.strip() for name in layers[2].split(":")]
    for domain in domains:
        contract = next((c for c in CONTRACTS if c["id"] == f"{domain}-private"), None)
        assert contract is not None, f"add a '{domain}-private' contract for the new domain {domain}"
        assert contract["protected_modules"] == [f"relaydesk.{domain}.**"], contract["name"]
        # Only the domain itself and the composition roots that map or seed every table import it freely.
        assert contract["allowed_importers"] == [f"relaydesk.{domain}", "relaydesk.models", "relaydesk.demo"]
        # What is public is declared as open to everyone; nothing else is opened to everyone.
        public = [
            i.split(" -> ")[1] for i in contract.get("ignore_imports", []) if i.startswith("relaydesk.** ")
        ]
        assert all(m.startswith(f"relaydesk.{domain}.") for m in public), contract["name"]
        public_modules = {m.rsplit(".", 1)[1] for m in public}
        assert {"models", "repository"}.isdisjoint(public_modules), contract["name"]
