"""Repository-wide pytest set-up.

pytest's importlib mode names a test module after its path (``medtuned_tasks_re/tests/test_x.py`` ->
``medtuned_tasks_re.tests.test_x``) and registers each missing parent as a stand-in module. Our
distribution folders share their import package's name, so the stand-in would hide the installed
package. Importing the real packages first makes pytest find and reuse them.
"""

import importlib
import os
from importlib import metadata

for var, value in (("OMP_NUM_THREADS", "1"), ("MKL_NUM_THREADS", "1"), ("TOKENIZERS_PARALLELISM", "false")):
    os.environ.setdefault(var, value)

for _ep in metadata.entry_points(group="medtuned.plugins"):
    try:
        importlib.import_module(_ep.value.split(":")[0].split(".")[0])
    except Exception:  # a broken plugin is the registry's business, reported by its own tests
        pass
