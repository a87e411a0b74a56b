"""Dependencies point one way: the import-linter contracts in pyproject.toml hold.

core <- directory <- realtime <- hotline <- referrals <- clinics <- escalation <- dashboard <- demo
<- config; core knows no domain app, no app imports config, and no app has an import circle
inside it, not even one hidden behind a function-level import.
"""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
PACKAGES = (
    "config",
    "core",
    "directory",
    "realtime",
    "hotline",
    "referrals",
    "clinics",
    "escalation",
    "prevention",
    "network",
    "dashboard",
    "demo",
)


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_every_layering_contract_is_kept():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def _copy_of_the_code(to: Path) -> Path:
    shutil.copy(ROOT / "pyproject.toml", to)
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package,
            to / package,
            ignore=shutil.ignore_patterns("__pycache__", "locale", "templates", "static"),
        )
    return to


def test_a_core_module_importing_a_domain_app_breaks_the_contracts(tmp_path):
    tree = _copy_of_the_code(tmp_path)
    errors = tree / "core" / "errors.py"
    errors.write_text(errors.read_text() + "\n\ndef _late():\n    from hotline import models\n")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "core knows no domain app BROKEN" in result.stdout
    assert "core.errors -> hotline.models" in result.stdout


def test_a_circle_behind_a_function_level_import_breaks_the_contracts(tmp_path):
    tree = _copy_of_the_code(tmp_path)
    models = tree / "escalation" / "models.py"
    models.write_text(
        models.read_text() + "\n\ndef _late():\n    from escalation import policies\n"
    )
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "No cycles are allowed in escalation." in result.stdout
