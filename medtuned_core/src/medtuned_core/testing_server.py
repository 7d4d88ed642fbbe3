"""A local OpenAI-compatible server for tests and benchmarks: ``transformers serve MODEL`` on 127.0.0.1.

Needs ``medtuned-core[serving]`` (FastAPI and uvicorn for the installed transformers). The server runs in its
own process group (uvicorn plus the process that holds the model), on a free port, offline; ``stop`` kills the
whole group, so nothing is left behind. Use it as a context manager, or ``start``/``stop`` it (a restart picks
a new port).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

SERVE = "import sys; from transformers.cli.transformers import main; sys.argv[0] = 'transformers'; sys.exit(main())"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalServer:
    """``transformers serve MODEL --host 127.0.0.1 --port P --device cpu``; ``base_url`` is what ``--base-url`` takes."""

    def __init__(self, model: str | Path, log: str | Path, *, extra: tuple[str, ...] = (), start_timeout: float = 180.0) -> None:
        self.model, self.log, self.extra, self.start_timeout = str(model), Path(log), extra, start_timeout
        self.process: subprocess.Popen | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> LocalServer:
        self.port = free_port()
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        env.setdefault("OMP_NUM_THREADS", "1")
        command = [sys.executable, "-c", SERVE, "serve", self.model, "--host", "127.0.0.1", "--port", str(self.port), "--device", "cpu", *self.extra]
        with self.log.open("a") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("transformers serve exited:\n" + self.log.read_text()[-4000:])
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("transformers serve did not answer /health in time:\n" + self.log.read_text()[-4000:])

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)  # the server's own process group: uvicorn and its model process
            self.process.wait()
        self.process = None

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
