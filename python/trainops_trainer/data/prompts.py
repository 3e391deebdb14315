"""Turn examples into prompt and target text, with the model's real end-of-turn token."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError
from .formats import Example

# The team's original layout, for models already fine-tuned on it.
INSTRUCTION_TEMPLATE = "{system}\n### Instruction:\n{instruction}\n### Response:\n"
_SENTINEL = "TRAINOPS_ANSWER_SENTINEL"


@dataclass
class EndOfTurn:
    """What follows the answer in a target: `text` as rendered, ending with the single token `token`."""

    text: str
    token: str
    token_id: int


def special_token_strings(tokenizer) -> list[str]:
    names = set(tokenizer.all_special_tokens)
    for token in getattr(tokenizer, "added_tokens_decoder", {}).values():
        if getattr(token, "special", False):
            names.add(str(token))
    return sorted(names, key=len, reverse=True)


def single_token_id(tokenizer, token: str, model_name: str) -> int:
    ids = tokenizer.encode(token, add_special_tokens=False)
    if len(ids) != 1:
        raise ConfigError(f"end-of-turn token {token!r} of {model_name} is not a single token (ids {ids}); "
                          "the model could not learn to stop")
    return ids[0]


def probe_end_of_turn(tokenizer, model_name: str) -> tuple[str, EndOfTurn]:
    """Render a probe conversation to find the assistant prefix and the end-of-turn token of the template."""
    user = [{"role": "user", "content": "probe"}]
    prompt = tokenizer.apply_chat_template(user, tokenize=False, add_generation_prompt=True)
    full = tokenizer.apply_chat_template(user + [{"role": "assistant", "content": _SENTINEL}],
                                         tokenize=False, add_generation_prompt=False)
    if not full.startswith(prompt) or _SENTINEL not in full[len(prompt):]:
        raise ConfigError(f"the chat template of {model_name} renders the prompt differently with and without "
                          "the answer, so the answer cannot be located; set `prompt_style: instruction`")
    rest = full[len(prompt):]
    prefix, suffix = rest.split(_SENTINEL, 1)

    best: tuple[int, str] | None = None
    for token in special_token_strings(tokenizer):
        position = suffix.find(token)
        if position >= 0 and (best is None or position < best[0]):
            best = (position, token)
    if best is None:
        token = tokenizer.eos_token
        if token is None:
            raise ConfigError(f"{model_name} has no end-of-turn or eos token")
        return prefix, EndOfTurn(token, token, single_token_id(tokenizer, token, model_name))
    position, token = best
    return prefix, EndOfTurn(suffix[: position + len(token)], token, single_token_id(tokenizer, token, model_name))


class SingleTurnTemplate:
    """The chat template rendered once for a (system, user) prompt, filled in by string concatenation.

    Rendering Jinja per row costs about as much as tokenizing it. The fast path is used only
    when the template copies both contents verbatim.
    NOTE: Prompter compares it with Jinja on the first row of each shape only, so a template
    that rewrites some contents but not others would need the Jinja path for every row.
    """

    SYSTEM, USER = "TRAINOPS_SYSTEM_SENTINEL", "TRAINOPS_USER_SENTINEL"

    def __init__(self, tokenizer, with_system: bool):
        messages = [{"role": "user", "content": self.USER}]
        if with_system:
            messages.insert(0, {"role": "system", "content": self.SYSTEM})
        rendered = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        self.parts: list[str] | None = None
        if rendered.count(self.USER) != 1 or (with_system and rendered.count(self.SYSTEM) != 1):
            return
        if with_system:
            head, rest = rendered.split(self.SYSTEM)
            middle, tail = rest.split(self.USER)
            if self.USER in head:
                return
            self.parts = [head, middle, tail]
        else:
            head, tail = rendered.split(self.USER)
            self.parts = [head, "", tail]

    def render(self, system: str, user: str) -> str | None:
        if self.parts is None:
            return None
        head, middle, tail = self.parts
        return head + system + middle + user + tail if system else head + user + tail


class Prompter:
    """Render examples as (prompt, target) text for one tokenizer and prompt style."""

    def __init__(self, tokenizer, model_name: str, prompt_style: str, system_prompt: str, reasoning_placement: str):
        self.tokenizer = tokenizer
        self.prompt_style = prompt_style
        self.system_prompt = system_prompt
        self.reasoning_placement = reasoning_placement
        self.add_bos = False
        if prompt_style == "chat_template":
            if not getattr(tokenizer, "chat_template", None):
                raise ConfigError(f"{model_name} has no chat template; set `prompt_style: instruction`")
            self.assistant_prefix, self.end = probe_end_of_turn(tokenizer, model_name)
            self._fast = {flag: SingleTurnTemplate(tokenizer, flag) for flag in (True, False)}
            self._fast_checked: set[bool] = set()
        else:
            if tokenizer.eos_token is None:
                raise ConfigError(f"{model_name} has no eos token to end the answer with")
            self.assistant_prefix = ""
            self.end = EndOfTurn("\n" + tokenizer.eos_token, tokenizer.eos_token,
                                 single_token_id(tokenizer, tokenizer.eos_token, model_name))
            bos = tokenizer.bos_token_id
            self.add_bos = bos is not None and tokenizer("a")["input_ids"][:1] == [bos]

    def _messages(self, example: Example) -> list[dict[str, str]]:
        messages = [dict(m) for m in example.prompt_messages]
        if example.reasoning and self.reasoning_placement == "prompt":
            messages[-1]["content"] = f"{messages[-1]['content']}\n{example.reasoning}"
        if self.system_prompt and messages[0]["role"] != "system":
            messages.insert(0, {"role": "system", "content": self.system_prompt})
        return messages

    def answer_text(self, example: Example) -> str:
        if example.reasoning and self.reasoning_placement == "target":
            return f"<think>\n{example.reasoning}\n</think>\n\n{example.answer}"
        return example.answer

    def prompt_text(self, example: Example) -> str:
        messages = self._messages(example)
        if self.prompt_style == "chat_template":
            return self._render_chat(messages)
        system = messages[0]["content"] if messages[0]["role"] == "system" else ""
        turns = "\n".join(m["content"].strip() for m in messages if m["role"] != "system")
        return INSTRUCTION_TEMPLATE.format(system=system, instruction=turns).lstrip()

    def _render_chat(self, messages: list[dict[str, str]]) -> str:
        roles = [m["role"] for m in messages]
        with_system = roles == ["system", "user"]
        if with_system or roles == ["user"]:
            fast = self._fast[with_system]
            text = fast.render(messages[0]["content"] if with_system else "", messages[-1]["content"])
            if text is not None and with_system in self._fast_checked:
                return text
            exact = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            if text == exact:
                self._fast_checked.add(with_system)
            else:
                fast.parts = None
            return exact
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def target_text(self, example: Example) -> str:
        return self.assistant_prefix + self.answer_text(example) + self.end.text
