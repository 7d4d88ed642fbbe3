"""The README's table maps every finding of issue 14 to tests: each test it names must exist here."""

from __future__ import annotations

import re
from pathlib import Path

HERE = Path(__file__).parent


def test_every_test_the_readme_names_exists():
    readme = (HERE / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Every", 1)[1]
    named = set(re.findall(r"`(test_\w+)`", table))
    defined = {name for path in HERE.glob("test_*.py") for name in re.findall(r"^def (test_\w+)", path.read_text(encoding="utf-8"), re.M)}
    assert len(named) >= 25 and named <= defined, sorted(named - defined)
