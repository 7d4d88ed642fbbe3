"""Score-mode tagging: the answer's form is known except the labels, so only the labels are chosen.

A render hook that emits the hint
``"tagging": {"tokens": [...], "labels": [...], "line": "{token} : {label}", "sep": "\\n"}``
promises that the gold output is ``sep.join(line.format(token=t, label=y))``. We force every token of
that text except where the labels differ, and at each such *choice point* take the model's argmax among
the allowed next tokens (token-level constrained greedy decoding, conditioning on the labels already
chosen). The output is parseable by construction.

Two ways to get exactly that answer (``lookahead``):

* ``lookahead=0`` — plain constrained greedy over the KV cache: one forward call per choice point, each
  feeding the chosen token and the forced text up to the next choice (``"\\nword : "``).
* ``lookahead=None`` (or k) — **verify and fix**: guess the labels of the rest of the answer (:class:`Guesser`),
  feed the guessed remainder in one teacher-forced call, keep the prefix where the model's own choice
  agrees with the guess, take the model's choice at the first disagreement (it is conditioned on a
  correct prefix, so it is exactly what incremental decoding would choose) and continue from there.
  Slots after the disagreement are masked out of the cache (engine.py). Every pass decides at least one
  more choice, so the result always equals plain constrained greedy; good guesses only make it take
  fewer passes.

Every chunk of a batch is padded to the longest one, and on a CPU a padded token costs as much as a
real one, so a pass can be cut at ``chunk_tokens`` tokens per row (or at a quantile of the rows' chunk
lengths): a row cut short simply continues in the next pass.

How far a pass guesses adapts per row, like the draft length of speculative decoding: after a pass
whose guesses were all accepted the row guesses twice as far (within ``lookahead``); after a rejection it
guesses only as far as the guesses held. A row whose guesses keep failing — a zero-shot model on a task
with many labels — so falls back to plain incremental decoding (one short call per choice) instead of
paying a long verification chunk for every single decision, and the guesses it does make come from the
model's own choices in the same pass (self-speculation: the choice at each later check, made after the
rejected guess, is the next guess for its line). No answer changes; only the number and length of passes.

``max_passes`` cuts the search short (inexact: the remaining lines keep the last pass's choices); it
exists to measure the one- and two-pass teacher-forced shortcuts against the exact methods.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from ..prompt import ALPACA_FORMAT, PromptFormat, encode_prompts
from .engine import CachedBatch, extend, output_weights, restricted_logits
from .prefix import PrefixCache

DEFAULT_LINE = "{token} : {label}"
DEFAULT_SEP = "\n"


class TaggingHintError(ValueError):
    """A ``tagging`` hint that cannot be used (the row then falls back to generation)."""


@dataclass(frozen=True)
class TaggingHint:
    tokens: tuple[str, ...]
    labels: tuple[str, ...]
    line: str = DEFAULT_LINE
    sep: str = DEFAULT_SEP

    @classmethod
    def from_row(cls, hint: Mapping[str, Any]) -> TaggingHint:
        try:
            tokens = tuple(str(t) for t in hint["tokens"])
            labels = tuple(dict.fromkeys(str(y) for y in hint["labels"]))
            line = str(hint.get("line", DEFAULT_LINE))
            sep = str(hint.get("sep", DEFAULT_SEP))
        except (KeyError, TypeError) as exc:
            raise TaggingHintError(f"tagging hint needs 'tokens' and 'labels' lists ({exc})") from None
        if not labels:
            raise TaggingHintError("tagging hint has no labels")
        if "{label}" not in line or "{token}" not in line:
            raise TaggingHintError(f"tagging line template {line!r} must contain {{token}} and {{label}}")
        return cls(tokens, labels, line, sep)

    def render(self, labels: Sequence[str]) -> str:
        return self.sep.join(self.line.format(token=t, label=y) for t, y in zip(self.tokens, labels, strict=True))


@dataclass
class LineTrie:
    """The token sequences one output line can take, one per label, as a prefix tree."""

    ids: dict[str, tuple[int, ...]]  # label -> token ids of the whole line (with its leading separator)
    label_of: dict[tuple[int, ...], str] = field(default_factory=dict)
    children: dict[tuple[int, ...], tuple[int, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        kids: dict[tuple[int, ...], dict[int, None]] = {}
        for label, ids in self.ids.items():
            self.label_of.setdefault(ids, label)  # two labels with one spelling: the first wins
            for k in range(len(ids)):
                kids.setdefault(ids[:k], {})[ids[k]] = None
        self.children = {prefix: tuple(nxt) for prefix, nxt in kids.items()}

    def first_tokens(self) -> tuple[int, ...]:
        return self.children.get((), ())


@dataclass
class TagPlan:
    """One row: its prompt ids and one trie per output line."""

    hint: TaggingHint
    prompt: str
    prompt_ids: list[int]
    lines: list[LineTrie]
    eos_id: int | None  # the token that ends the answer: EOS (Alpaca) or the first end-of-turn token (chat)
    context_fallbacks: int = 0  # lines whose tokens could not be derived in context (tokenizer merged across the boundary)
    fmt: PromptFormat = ALPACA_FORMAT


LineMemo = dict  # (line template, separator, word, label set) -> LineTrie; see plan_tagging


def _encode(tokenizer: Any, texts: Sequence[str]) -> list[list[int]]:
    return [list(ids) for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]] if texts else []


def plan_tagging(tokenizer: Any, prompt: str, hint: TaggingHint, fmt: PromptFormat = ALPACA_FORMAT, memo: LineMemo | None = None) -> TagPlan:
    """Token ids of every line under every label, as the trainer tokenizes the answer.

    Training encodes the prompt (as the format says: with the tokenizer's special tokens for Alpaca, without
    for a chat template) and the answer (without) separately and joins the ids (train/data.py), so the
    answer's ids are those of the answer text alone, and the format's end-of-answer token ends the last line. A line's ids are the
    difference between encoding ``previous line + line`` and ``previous line`` (under any label: BPE
    pre-tokenizers split at the separator, so the label does not matter); the first line is encoded
    alone, as the start of the answer.

    With many labels that is ``words x labels`` encodings a row (65 labels: over a thousand), so a
    ``memo`` shared across rows keeps each word's lines: a later row encodes every line once, under the
    first label, and reuses the memo's lines for the word when that one agrees with them (a tokenizer
    merging across the boundary differently there gets every label encoded afresh).
    """
    prompt_ids = list(encode_prompts(fmt, tokenizer, [prompt])["input_ids"][0])
    end_id = next(iter(fmt.end_ids(tokenizer)), None)
    n = len(hint.tokens)
    if n == 0:
        return TagPlan(hint, prompt, prompt_ids, [], end_id, 0, fmt)
    memo = {} if memo is None else memo
    first = hint.labels[0]

    def text(i: int, label: str) -> str:
        return (hint.sep if i else "") + hint.line.format(token=hint.tokens[i], label=label)

    def key(i: int) -> tuple[str, str, str, tuple[str, ...]]:
        return (hint.line, hint.sep if i else "", hint.tokens[i], hint.labels)

    contexts = [""] + [hint.line.format(token=hint.tokens[i - 1], label=first) for i in range(1, n)]
    ctx_ids = _encode(tokenizer, contexts)

    def in_context(i: int, full: list[int]) -> tuple[int, ...] | None:
        ctx = ctx_ids[i]
        return tuple(full[len(ctx) :]) if full[: len(ctx)] == ctx and len(full) > len(ctx) else None

    probes = [in_context(i, full) for i, full in enumerate(_encode(tokenizer, [contexts[i] + text(i, first) for i in range(n)]))]
    known: dict[int, LineTrie] = {}
    for i in range(n):
        cached = memo.get(key(i))
        if probes[i] is not None and cached is not None and cached.ids.get(first) == probes[i]:
            known[i] = cached
    todo = [i for i in range(n) if i not in known]
    joined = iter(_encode(tokenizer, [contexts[i] + text(i, label) for i in todo for label in hint.labels]))
    fallbacks = 0
    for i in todo:
        ids: dict[str, tuple[int, ...]] = {}
        for label in hint.labels:
            found = in_context(i, next(joined))
            if found is None:  # the tokenizer merged across the boundary: encode the line alone
                found = tuple(_encode(tokenizer, [text(i, label)])[0])
                fallbacks += 1
            ids[label] = found
        known[i] = LineTrie(ids)
        memo.setdefault(key(i), known[i])
    lines = [known[i] for i in range(n)]
    return TagPlan(hint, prompt, prompt_ids, lines, end_id, fallbacks, fmt)


class Cursor:
    """Where a row stands in its answer: the line, the tokens decided in that line, the labels decided."""

    __slots__ = ("plan", "line", "prefix", "labels")

    def __init__(self, plan: TagPlan) -> None:
        self.plan = plan
        self.line = 0
        self.prefix: tuple[int, ...] = ()
        self.labels: list[str] = []
        self._settle()

    def copy(self) -> Cursor:
        other = Cursor.__new__(Cursor)
        other.plan, other.line, other.prefix, other.labels = self.plan, self.line, self.prefix, list(self.labels)
        return other

    @property
    def done(self) -> bool:
        return self.line >= len(self.plan.lines)

    def _trie(self) -> LineTrie:
        return self.plan.lines[self.line]

    def _end_tokens(self) -> tuple[int, ...]:
        """Tokens that end the current line: the next line's first token, or EOS after the last line."""
        if self.line + 1 < len(self.plan.lines):
            return self.plan.lines[self.line + 1].first_tokens()
        return () if self.plan.eos_id is None else (self.plan.eos_id,)

    def allowed(self) -> tuple[int, ...]:
        trie = self._trie()
        nexts = trie.children.get(self.prefix, ())
        if self.prefix in trie.label_of:  # a complete label that another label extends: ending is an option
            return nexts + tuple(t for t in self._end_tokens() if t not in nexts)
        return nexts

    def take(self, token: int) -> None:
        trie = self._trie()
        if token in trie.children.get(self.prefix, ()):
            self.prefix = (*self.prefix, token)
        elif self.prefix in trie.label_of and token in self._end_tokens():
            self._complete()
            if not self.done:
                self.prefix = (token,)
        else:
            raise ValueError(f"token {token} is not allowed at line {self.line} after {self.prefix}")
        self._settle()

    def _complete(self) -> None:
        self.labels.append(self._trie().label_of[self.prefix])
        self.line += 1
        self.prefix = ()

    def _settle(self) -> None:
        # A complete line that nothing extends ends by itself; so does an empty answer.
        while not self.done and self.prefix in self._trie().label_of and not self._trie().children.get(self.prefix):
            self._complete()

    def forced(self) -> list[int]:
        """Advance through tokens that have no alternative; stops at a choice point or the end."""
        out = []
        while not self.done:
            allowed = self.allowed()
            if len(allowed) != 1:
                break
            out.append(allowed[0])
            self.take(allowed[0])
        return out

    def guess_token(self, label: str) -> int:
        """The token that continues the current line towards ``label`` (any allowed token if it cannot)."""
        allowed = self.allowed()
        ids = self._trie().ids.get(label, ())
        n = len(self.prefix)
        if ids[:n] == self.prefix:
            if len(ids) > n and ids[n] in allowed:
                return ids[n]
            if len(ids) == n:
                ends = [t for t in self._end_tokens() if t in allowed]
                if ends:
                    return ends[0]
        return allowed[0]

    def label_towards(self, token: int, preferred: str) -> str:
        """The label a choice of ``token`` here leads to (``preferred`` if it is still reachable)."""
        trie = self._trie()
        if self.prefix in trie.label_of and token not in trie.children.get(self.prefix, ()):
            return trie.label_of[self.prefix]
        path = (*self.prefix, token)
        pref = trie.ids.get(preferred, ())
        if pref[: len(path)] == path:
            return preferred
        return next((y for y, ids in trie.ids.items() if ids[: len(path)] == path), preferred)


class Guesser:
    """Label guesses for verify-and-fix, learned online from the model's own answers in this run.

    Guesses never change the answer (every guess is verified), only how many passes it takes. A guess
    for a line comes from a *shadow tagger*: the label the model gave this word after this previous
    label in earlier rows, when it did so consistently (at least ``min_count`` times, ``min_share`` of
    them). Otherwise the model's own choice for the line from the last pass is used if there is one
    (made after a wrong earlier label, but usually still right), else the label chosen most often so far
    — before any answer exists, ``O`` if the label set has one (the BIO "outside" tag), else the first.
    """

    def __init__(self, min_count: int = 2, min_share: float = 0.75, use_words: bool = True) -> None:
        self.min_count, self.min_share, self.use_words = min_count, min_share, use_words
        self.counts: Counter[str] = Counter()
        self.by_word: dict[tuple[str, str], Counter[str]] = {}

    def default(self, labels: Sequence[str]) -> str:
        known = [y for y in labels if self.counts[y]]
        if known:
            return max(known, key=lambda y: (self.counts[y], y == "O"))
        return "O" if "O" in labels else labels[0]

    def shadow(self, word: str, previous: str, labels: Sequence[str]) -> str | None:
        seen = self.by_word.get((word, previous)) if self.use_words else None
        if not seen:
            return None
        label, count = seen.most_common(1)[0]
        total = sum(seen.values())
        return label if total >= self.min_count and count >= self.min_share * total and label in labels else None

    def initial(self, hint: TaggingHint) -> list[str]:
        out, previous, fallback = [], "", self.default(hint.labels)
        for word in hint.tokens:
            previous = self.shadow(word, previous, hint.labels) or fallback
            out.append(previous)
        return out

    def refine(self, hint: TaggingHint, guesses: list[str], after: int, label: str, stale: Mapping[int, str]) -> None:
        """New guesses for the lines after line ``after``, now known to carry ``label``."""
        previous = label
        for i in range(after + 1, len(hint.tokens)):
            previous = self.shadow(hint.tokens[i], previous, hint.labels) or stale.get(i) or guesses[i]
            guesses[i] = previous

    def learn(self, hint: TaggingHint, labels: Sequence[str]) -> None:
        self.counts.update(labels)
        previous = ""
        for word, label in zip(hint.tokens, labels, strict=True):
            self.by_word.setdefault((word, previous), Counter())[label] += 1
            previous = label


@dataclass
class TagOutcome:
    labels: list[str]
    text: str
    passes: int  # forward calls this row took part in
    fed_tokens: int  # tokens this row fed through the model (shared-prefix tokens not counted)
    exact: bool  # False when ``max_passes`` stopped the search before every choice was verified
    context_fallbacks: int = 0

    def diagnostics(self) -> dict[str, Any]:
        return {"passes": self.passes, "fed_tokens": self.fed_tokens, "exact": self.exact, "context_fallbacks": self.context_fallbacks}


@dataclass
class _Check:
    offset: int  # chunk position whose hidden state predicts this choice
    allowed: tuple[int, ...]
    guess: int | None  # the guessed token fed after it (None: the choice right after the chunk)
    line: int
    cursor: Cursor  # state before the choice (to name the label a choice leads to)


@dataclass
class _Row:
    plan: TagPlan
    cursor: Cursor
    unfed: list[int]
    guesses: list[str]
    depth: int | None = None  # guessed choices allowed in the next pass (None: as many as the chunk holds)
    passes: int = 0
    fed: int = 0
    exact: bool = True
    finished: bool = False


GROWTH_CAP = 64  # an unbounded row that doubled past this guesses without a bound again
MIN_DEPTH = 1  # after a rejection still guess the next choice: the model's own choice there (self-speculation)


def next_depth(depth: int | None, accepted: int, rejected: bool, lookahead: int | None) -> int | None:
    """Guesses for a row's next pass: as many as held when one was rejected (at least ``MIN_DEPTH``), twice as
    many when all held."""
    if lookahead == 0:
        return 0
    if rejected:
        depth = max(accepted, MIN_DEPTH)
    elif depth is not None:
        depth = 2 * depth + 1
        if lookahead is None and depth > GROWTH_CAP:
            depth = None
    if lookahead is not None:
        depth = lookahead if depth is None else min(depth, lookahead)
    return depth


def _build_chunk(row: _Row, lookahead: int | None, max_tokens: int | None = None) -> tuple[list[int], list[_Check]]:
    """This pass's tokens for a row: what is decided but not yet fed, then forced text and guesses, up to
    ``lookahead`` guessed choices and cut at exactly ``max_tokens`` tokens (a cut may fall anywhere: the
    next pass goes on from there)."""
    sim = row.cursor.copy()
    chunk = list(row.unfed)
    checks: list[_Check] = []
    guessed = 0
    while True:
        if max_tokens is not None and len(chunk) >= max_tokens:
            if not sim.done and len(sim.allowed()) > 1:  # the budget ends right before a choice: make it here
                checks.append(_Check(len(chunk) - 1, sim.allowed(), None, sim.line, sim.copy()))
            break
        chunk.extend(sim.forced())
        if sim.done:
            break
        if (lookahead is not None and guessed >= lookahead) or (max_tokens is not None and len(chunk) >= max_tokens):
            checks.append(_Check(len(chunk) - 1, sim.allowed(), None, sim.line, sim.copy()))
            break
        token = sim.guess_token(row.guesses[sim.line])
        checks.append(_Check(len(chunk) - 1, sim.allowed(), token, sim.line, sim.copy()))
        chunk.append(token)
        sim.take(token)
        guessed += 1
    if max_tokens is not None and len(chunk) > max_tokens:
        chunk = chunk[:max_tokens]
        kept = []
        for check in checks:
            if check.offset + 1 < max_tokens:
                kept.append(check)
            elif check.offset == max_tokens - 1:  # its guess fell past the cut: it becomes the choice after the chunk
                kept.append(_Check(check.offset, check.allowed, None, check.line, check.cursor))
        checks = kept
    return chunk, checks


def _model_labels(row: _Row, checks: list[_Check], choices: list[int]) -> dict[int, str]:
    """The label the model's own choices in this pass lead to on each line: a line follows its guess while
    the model agrees and turns at its first disagreement (for a multi-token label, possibly at a later
    token of the line). Lines after a rejected guess were conditioned on it, so these are guesses, not
    decisions — the self-speculation the next pass verifies."""
    out: dict[int, str] = {}
    for check, choice in zip(checks, choices, strict=True):
        if check.line in out:
            continue
        if check.guess is None or choice != check.guess:
            out[check.line] = check.cursor.label_towards(choice, row.guesses[check.line])
    for check in checks:
        out.setdefault(check.line, row.guesses[check.line])
    return out


def _apply(
    row: _Row, chunk: list[int], checks: list[_Check], choices: list[int], start: int, state: CachedBatch, index: int, guesser: Guesser
) -> tuple[int, bool]:
    """Keep the agreeing prefix of this pass, fix the first disagreement, refresh the guesses.

    Returns ``(guesses accepted, whether one was rejected)``."""
    n_unfed = min(len(row.unfed), len(chunk))
    predicted = _model_labels(row, checks, choices)
    accepted = 0
    for check, choice in zip(checks, choices, strict=True):
        if check.guess is not None and choice == check.guess:
            accepted += 1
            continue
        # First disagreement (or the choice right after the chunk): everything before it is confirmed.
        for token in chunk[n_unfed : check.offset + 1]:
            row.cursor.take(token)
        row.cursor.take(choice)
        if check.guess is not None:
            state.forget(index, start + check.offset + 1)
        row.unfed = [choice]
        if row.cursor.done:  # the fix ended the answer (EOS after a label another label extends)
            row.unfed, row.finished = [], True
            return accepted, check.guess is not None
        guesser.refine(row.plan.hint, row.guesses, check.line, predicted[check.line], predicted)
        return accepted, check.guess is not None
    for token in chunk[n_unfed:]:
        row.cursor.take(token)
    row.unfed = row.unfed[len(chunk) :]
    if not row.unfed:
        # Only forced text left (no choice): the answer is complete without feeding it.
        probe = row.cursor.copy()
        probe.forced()
        if probe.done:
            row.cursor, row.finished = probe, True
    return accepted, False


def _finish_inexact(row: _Row, checks: list[_Check], choices: list[int]) -> None:
    """Stop searching: the current and later lines keep this pass's choices (for measuring shortcuts)."""
    predicted = _model_labels(row, checks, choices)
    decided = list(row.cursor.labels)
    row.cursor.labels = decided + [predicted.get(i, row.guesses[i]) for i in range(len(decided), len(row.plan.lines))]
    row.cursor.line = len(row.plan.lines)
    row.exact = False
    row.finished = True


@torch.inference_mode()
def tag_batch(
    model: torch.nn.Module,
    plans: Sequence[TagPlan],
    *,
    lookahead: int | None = None,
    max_passes: int | None = None,
    guesser: Guesser | None = None,
    prefixes: PrefixCache | None = None,
    tokenizer: Any = None,
    pad_id: int = 0,
    width_quantile: float | None = None,
    chunk_tokens: int | None = None,
    adaptive: bool = False,
) -> list[TagOutcome]:
    """Constrained greedy labels for a batch of rows (see the module docstring for ``lookahead``).

    ``adaptive=False`` keeps every pass at ``lookahead`` guesses (the fixed-depth algorithm, for comparison).

    ``prefixes`` (with the ``tokenizer``) starts every row from its cached instruction block.
    Every chunk of a pass is padded to the longest one, and padding costs as much as real tokens, so
    the chunks can be cut: at ``chunk_tokens`` tokens, or at the ``width_quantile`` of the rows' chunk
    lengths (a row cut short goes on in the next pass; the answer is the same).
    """
    guesser = guesser or Guesser()
    rows = [_Row(plan, Cursor(plan), [], guesser.initial(plan.hint), depth=lookahead) for plan in plans]
    prompt_ids = [p.prompt_ids for p in plans]
    if prefixes is not None and tokenizer is not None:
        shared = prefixes.shared_lengths(tokenizer, [p.prompt for p in plans], prompt_ids, plans[0].fmt if plans else ALPACA_FORMAT)
        state = prefixes.batch_state(model, prompt_ids, shared)
    else:
        shared, state = [0] * len(plans), CachedBatch.empty(model, len(plans))
    for row, n in zip(rows, shared, strict=True):
        row.unfed = list(row.plan.prompt_ids[n:])
        row.finished = row.cursor.done
    weight, bias = output_weights(model)
    active = list(range(len(rows)))
    if any(rows[i].finished for i in active):
        active = [i for i in active if not rows[i].finished]
        state.select([i for i in range(len(rows)) if not rows[i].finished])
    while active:
        built = [_build_chunk(rows[i], rows[i].depth, chunk_tokens) for i in active]
        if width_quantile is not None and len(built) > 1:
            lengths = sorted(len(c) for c, _ in built)
            cap = lengths[round(width_quantile * (len(lengths) - 1))]
            built = [_build_chunk(rows[i], rows[i].depth, cap) if len(b[0]) > cap else b for i, b in zip(active, built, strict=True)]
        hidden, start = extend(model, state, [c for c, _ in built], pad_id)
        choices = _choose(hidden, weight, bias, [checks for _, checks in built])
        for k, i in enumerate(active):
            row = rows[i]
            chunk, checks = built[k]
            row.passes += 1
            row.fed += len(chunk)
            if max_passes is not None and row.passes >= max_passes and checks:
                _finish_inexact(row, checks, choices[k])
            else:
                accepted, rejected = _apply(row, chunk, checks, choices[k], start, state, k, guesser)
                if adaptive:
                    row.depth = next_depth(row.depth, accepted, rejected, lookahead)
            if row.finished and row.exact:
                guesser.learn(row.plan.hint, row.cursor.labels)
        keep = [k for k, i in enumerate(active) if not rows[i].finished]
        if len(keep) < len(active):
            active = [active[k] for k in keep]
            if active:
                state.select(keep)
    out = []
    for row in rows:
        labels = row.cursor.labels
        out.append(TagOutcome(labels, row.plan.hint.render(labels), row.passes, row.fed, row.exact, row.plan.context_fallbacks))
    return out


def _choose(hidden: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, checks: list[list[_Check]]) -> list[list[int]]:
    """The model's choice at every check of every row, from one projection onto the union of allowed tokens."""
    where = [(r, c.offset) for r, row_checks in enumerate(checks) for c in row_checks]
    if not where:
        return [[] for _ in checks]
    union = sorted({t for row_checks in checks for c in row_checks for t in c.allowed})
    column = {t: j for j, t in enumerate(union)}
    rows = torch.as_tensor([r for r, _ in where])
    offsets = torch.as_tensor([o for _, o in where])
    states = hidden[rows.to(hidden.device), offsets.to(hidden.device)]
    logits = restricted_logits(states, weight, bias, union).cpu()
    out: list[list[int]] = []
    n = 0
    for row_checks in checks:
        picked = []
        for c in row_checks:
            cols = [column[t] for t in c.allowed]
            values = logits[n, cols]
            picked.append(c.allowed[int(torch.argmax(values))])  # ties go to the first allowed token
            n += 1
        out.append(picked)
    return out
