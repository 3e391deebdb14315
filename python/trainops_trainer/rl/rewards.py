"""GRPO reward functions: format, answer, length and an optional judge model.

Each reward takes the completions TRL generated and the row columns it passes along
(`answer` contains the reference), and returns one float per completion.
`parse_reward_spec` reads a recipe's `rewards` option (`format:0.5,answer:1`) into names
and weights, and TRL sums the weighted rewards per completion (`GRPOConfig.reward_weights`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Callable

from ..errors import ConfigError

REWARD_NAMES = ("format", "answer", "length", "judge")
# Rewards that compare a completion with the row's reference answer.
REFERENCE_REWARDS = ("answer", "judge")

EXACT_SCORE = 1.0
CONTAINED_SCORE = 0.5

# The layout the SFT stage teaches with `reasoning_placement: target`.
THINK_LAYOUT = re.compile(r"^\s*<think>\s*(?P<reasoning>.*?)\s*</think>\s*(?P<answer>.*?)\s*$", re.DOTALL)

OPTION_LETTERS = "A-H"
# A reference that is an option letter alone or with its text: `B`, `(B)`, `B.`, `B. 阿司匹林`, `答案：B`.
REFERENCE_OPTION = re.compile(
    rf"^\s*(?:答案\s*[:：是为]?\s*|answer\s*(?:is)?\s*[:：]?\s*)?[(（\[]?([{OPTION_LETTERS}])[)）\]]?(?:\s*$|\s*[.．、:：)）]\s*)",
    re.IGNORECASE)
# Patterns of a completion naming its option, most explicit first.
COMPLETION_OPTION_PATTERNS = (
    re.compile(rf"答案\s*(?:应该|应|可能)?\s*[是为选:：]?\s*(?:选项)?\s*[(（\[]?([{OPTION_LETTERS}])(?![A-Za-z])"),
    re.compile(rf"\banswer\s*(?:is|:)?\s*(?:option\s*)?[(\[]?([{OPTION_LETTERS}])(?![A-Za-z])", re.IGNORECASE),
    re.compile(rf"选(?:择|项)?\s*[(（\[]?([{OPTION_LETTERS}])(?![A-Za-z])"),
    re.compile(rf"^\s*[(（\[]?([{OPTION_LETTERS}])[)）\]]?(?:\s*$|\s*[.．、:：)）])"),
)
STANDALONE_LETTER = re.compile(rf"(?<![A-Za-z])([{OPTION_LETTERS}])(?![A-Za-z])")


def completion_text(completion: Any) -> str:
    """Return the text of a completion. TRL passes plain strings for text prompts and message lists for chat prompts."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):
        return "".join(str(m.get("content", "")) for m in completion if isinstance(m, dict))
    return str(completion or "")


def split_reasoning(text: str) -> tuple[str | None, str]:
    """Return (reasoning, answer); reasoning is None when the completion does not use the think layout."""
    match = THINK_LAYOUT.match(text)
    if match and "<think>" not in match.group("answer") and "</think>" not in match.group("answer"):
        return match.group("reasoning"), match.group("answer")
    return None, text.strip()


def normalise_answer(text: str) -> str:
    """Normalise with NFKC, lower case and no whitespace, punctuation or symbols: `多休息，多饮水。` == `多休息 多饮水`."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] not in ("Z", "P", "S", "C"))


def reference_option(reference: str) -> str | None:
    match = REFERENCE_OPTION.match(reference)
    return match.group(1).upper() if match else None


def chosen_option(answer: str) -> str | None:
    """Return the option letter a completion picks, or None when it picks none or several."""
    for pattern in COMPLETION_OPTION_PATTERNS:
        match = pattern.search(answer)
        if match:
            return match.group(1).upper()
    letters = {m.group(1) for m in STANDALONE_LETTER.finditer(answer)}
    return letters.pop() if len(letters) == 1 else None


def format_score(text: str) -> float:
    reasoning, answer = split_reasoning(text)
    return 1.0 if reasoning and answer else 0.0


def answer_score(text: str, reference: str) -> float:
    """Score 1 for a normalised exact match (or the right option letter), 0.5 when the answer contains the reference."""
    _, answer = split_reasoning(text)
    if not answer or not reference or not reference.strip():
        return 0.0
    option = reference_option(reference)
    if option is not None:
        return EXACT_SCORE if chosen_option(answer) == option else 0.0
    got, want = normalise_answer(answer), normalise_answer(reference)
    if not got or not want:
        return 0.0
    if got == want:
        return EXACT_SCORE
    return CONTAINED_SCORE if want in got else 0.0


def length_penalty(length: int, target: int, limit: int) -> float:
    """Return 0 up to `target` tokens, falling linearly to -1 at `limit` (the completion length cap)."""
    if length <= target:
        return 0.0
    if limit <= target:
        return -1.0
    return -min(1.0, (length - target) / (limit - target))


def format_reward(completions, **kwargs) -> list[float]:
    """Score 1 when the completion reasons inside <think>...</think> and then answers."""
    return [format_score(completion_text(c)) for c in completions]


def answer_reward(completions, answer=None, **kwargs) -> list[float]:
    """Score the answer after the reasoning against the row's reference (`answer` column)."""
    references = answer if answer is not None else [""] * len(completions)
    return [answer_score(completion_text(c), str(r or "")) for c, r in zip(completions, references)]


def make_length_reward(target: int, limit: int) -> Callable[..., list[float]]:
    def length_reward(completions, completion_ids=None, **kwargs) -> list[float]:
        if completion_ids is not None:
            lengths = [len(ids) for ids in completion_ids]
        else:
            lengths = [len(completion_text(c)) for c in completions]
        return [length_penalty(n, target, limit) for n in lengths]

    return length_reward


@dataclass
class RewardSpec:
    name: str
    weight: float


def parse_reward_spec(text: str) -> list[RewardSpec]:
    """Parse `format:0.5,answer:1,length` into specs. A name without a weight has weight 1."""
    specs: list[RewardSpec] = []
    for part in [p.strip() for p in (text or "").split(",") if p.strip()]:
        name, _, weight_text = part.partition(":")
        name = name.strip()
        if name not in REWARD_NAMES:
            raise ConfigError(f"unknown reward `{name}` in option `rewards`; use {', '.join(REWARD_NAMES)}")
        try:
            weight = float(weight_text) if weight_text.strip() else 1.0
        except ValueError:
            raise ConfigError(f"reward `{name}` has weight {weight_text!r} in option `rewards`; "
                              "expected a number, as in `answer:1.0`") from None
        if any(spec.name == name for spec in specs):
            raise ConfigError(f"reward `{name}` appears twice in option `rewards`")
        specs.append(RewardSpec(name, weight))
    if not specs:
        raise ConfigError("option `rewards` names no reward; use for example `format:0.5,answer:1`")
    return specs
