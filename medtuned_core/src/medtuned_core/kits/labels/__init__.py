"""The labels kit: answers that are one label, a set of labels, or a lettered multiple-choice option.

* :mod:`.find` — label mentions in free text (whole words after case and punctuation folding);
* :mod:`.parse` — the parsers (never raising) and the one ``unparsed`` convention;
* :mod:`.score` — accuracy, positive-class / micro / macro F1 and HoC's document F1 with scikit-learn, each
  also as per-unit statistics (:class:`~medtuned_core.types.UnitScores`) for confidence intervals;
* :mod:`.kit` — the :class:`~medtuned_core.kits.Kit` that runs a declared task, and its settings.

Reference with every contract: docs/plugins.md, "The labels kit".
"""

from .find import find_labels, first_label, fold
from .kit import KIT, LabelsConfig
from .parse import clean_answer, never_raises, option_line, options_from_input, parse_answer, parse_choice, parse_label, parse_label_set, unparsed
from .score import GOLD_UNPARSED, UNPARSED, label_set_units, label_units, label_vectors, score_label_sets, score_labels

__all__ = [
    "GOLD_UNPARSED",
    "KIT",
    "UNPARSED",
    "LabelsConfig",
    "clean_answer",
    "find_labels",
    "first_label",
    "fold",
    "label_set_units",
    "label_units",
    "label_vectors",
    "never_raises",
    "option_line",
    "options_from_input",
    "parse_answer",
    "parse_choice",
    "parse_label",
    "parse_label_set",
    "score_label_sets",
    "score_labels",
    "unparsed",
]
