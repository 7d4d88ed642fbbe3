"""Reading a model's free-text answer as one of the three MedNLI labels (never raises).

The first label mentioned wins ("Entailment. It does not contradict..." is Entailment); verb and
adjective forms count ("the second sentence contradicts the first"). Text naming no label is an
explicit invalid answer: ``Parsed(None, ok=False)``, scored wrong and counted in ``unparsed``.
"""

from __future__ import annotations

from medtuned_core.labels import find_labels
from medtuned_core.types import Parsed

from .tasks import CONTRADICTION, ENTAILMENT, NEUTRAL

ALIASES: dict[str, tuple[str, ...]] = {
    ENTAILMENT: ("entails", "entailed", "entail", "entailing"),
    CONTRADICTION: ("contradicts", "contradicted", "contradict", "contradictory", "contradicting"),
    NEUTRAL: (),
}


def parse_nli(text: str) -> Parsed:
    """``Parsed("Entailment" | "Contradiction" | "Neutral")``, or ``Parsed(None, ok=False)``."""
    found = find_labels(text, ALIASES) if isinstance(text, str) else []
    if not found:
        return Parsed(None, ok=False, diagnostics={"reason": "no label mentioned"})
    diagnostics = {"mentioned": found} if len(found) > 1 else {}
    return Parsed(found[0], ok=True, diagnostics=diagnostics)
