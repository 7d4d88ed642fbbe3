"""Every chart writer leaves the user's matplotlib alone: no backend switch, no pyplot import, no open figures."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytest.importorskip("matplotlib")

# Run in a fresh interpreter: the test process may already hold pyplot through another library.
SCRIPT = r"""
import json, sys
from collections import Counter
from pathlib import Path

import matplotlib
matplotlib.use("svg")  # the user's own choice, which MedTuned must keep

from medtuned_core.build.report import Composition, save_chart
from medtuned_core.evaluate.compare import write_chart as compare_chart
from medtuned_core.evaluate.reference import References
from medtuned_core.evaluate.results import write_chart
from medtuned_core.train.plots import plot_loss_curve

out = Path(sys.argv[1])
plot_loss_curve(out / "loss.png", [{"step": 1, "loss": 2.0}, {"step": 2, "loss": 1.5, "eval_loss": 1.7}])
metrics = {"run": {"model": "m", "split": "test", "mode": "score"}, "tasks": {"t": {"score": 0.5}}}
write_chart(out / "results.png", metrics, References())
runs = {"before": {"score": 0.1, "ci_low": 0.05, "ci_high": 0.2}, "after": {"score": 0.6, "ci_low": 0.5, "ci_high": 0.7}}
report = {"ci_level": 0.95, "runs": [{"label": "before"}, {"label": "after"}], "tasks": {"t": {"metric": "f1", "runs": runs}}}
compare_chart(out / "before_after.png", report, "demo", names={"before": "before (zero-shot)"})
compare_chart(out / "compare.png", report)
composition = Composition({"t": "ner"})
composition.add("train", {"task": "t", "instruction": "i", "input": "a b c", "output": "o"})
save_chart(composition, out / "composition.png", "mix")
print(json.dumps({"backend": matplotlib.get_backend(), "pyplot": "matplotlib.pyplot" in sys.modules}))
"""


def test_chart_writers_keep_the_callers_backend_and_never_import_pyplot(tmp_path):
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    state = json.loads(done.stdout.strip().splitlines()[-1])
    assert state == {"backend": "svg", "pyplot": False}
    for name in ("loss.png", "results.png", "before_after.png", "compare.png", "composition.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # atomic writes left no temp files
