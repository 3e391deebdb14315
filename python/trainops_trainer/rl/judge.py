"""The judge reward: a model behind an OpenAI-compatible endpoint scores each completion.

Any server that speaks `/v1/chat/completions` works, such as a vLLM deployment started
with `/deploy`. The trainer's pinned dependencies hold no HTTP client and this is one
JSON POST per completion, so the standard library's urllib does it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..errors import ConfigError, DependencyError
from .rewards import completion_text, split_reasoning

logger = logging.getLogger(__name__)

JUDGE_SYSTEM_PROMPT = (
    "You grade answers to medical questions. Compare the candidate answer with the reference answer "
    "for correctness and completeness. Reply with one line: `Score: N`, where N is an integer from 0 "
    "(wrong) to 10 (fully correct)."
)
SCORE_PATTERN = re.compile(r"score\s*[:：]?\s*(\d+(?:\.\d+)?)", re.IGNORECASE)
NUMBER_PATTERN = re.compile(r"\d+(?:\.\d+)?")
MAX_SCORE = 10.0
MAX_PARALLEL_REQUESTS = 8


def parse_score(text: str) -> float | None:
    """Parse `Score: 7` as 0.7, or the first number when the label is missing. Return None without a number."""
    match = SCORE_PATTERN.search(text) or NUMBER_PATTERN.search(text)
    if not match:
        return None
    return max(0.0, min(MAX_SCORE, float(match.group(1) if match.re is SCORE_PATTERN else match.group(0)))) / MAX_SCORE


class JudgeClient:
    """Client that scores (question, reference, answer) triples with a chat model. Network failures raise DependencyError."""

    def __init__(self, base_url: str, model: str | None, api_key: str | None, timeout_seconds: float):
        if not base_url or not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"option `judge_url` must be an http(s) URL such as http://10.0.0.4:8000/v1, "
                              f"got {base_url!r}")
        if timeout_seconds <= 0:
            raise ConfigError("option `judge_timeout_seconds` must be greater than 0")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout = timeout_seconds

    def _request(self, path: str, body: dict | None = None) -> dict:
        url = f"{self.base_url}{path}"
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(url, data=data, headers=headers, method="GET" if body is None else "POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            raise DependencyError(f"judge model at {url} returned HTTP {error.code}; check `judge_url` and "
                                  "`judge_model`") from None
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise DependencyError(f"judge model at {url} is unreachable or timed out after "
                                  f"{self.timeout:g} s ({reason}); start the deployment or remove `judge` "
                                  "from `rewards`") from None
        except json.JSONDecodeError:
            raise DependencyError(f"judge model at {url} returned a response that is not JSON; set `judge_url` "
                                  "to an OpenAI-compatible endpoint ending in /v1") from None

    def check(self) -> str:
        """Raise before training when the judge is down, and return the model name to use."""
        listing = self._request("/models")
        names = [m.get("id") for m in listing.get("data", []) if isinstance(m, dict)]
        if self.model:
            if names and self.model not in names:
                raise DependencyError(f"judge endpoint {self.base_url} serves {', '.join(map(str, names))}, "
                                      f"not `judge_model` {self.model!r}")
            return self.model
        if not names:
            raise DependencyError(f"judge endpoint {self.base_url} lists no models; set `judge_model`")
        self.model = str(names[0])
        return self.model

    def score(self, question: str, reference: str, answer: str) -> float | None:
        user = f"Question:\n{question}\n\nReference answer:\n{reference}\n\nCandidate answer:\n{answer}"
        reply = self._request("/chat/completions", {
            "model": self.model,
            "messages": [{"role": "system", "content": JUDGE_SYSTEM_PROMPT}, {"role": "user", "content": user}],
            "temperature": 0,
            "max_tokens": 16,
        })
        try:
            text = reply["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            raise DependencyError(f"judge model at {self.base_url} returned a response without "
                                  "choices[0].message") from None
        value = parse_score(text)
        if value is None:
            logger.warning("judge reply has no score: %r", text[:200])
        return value


def make_judge_reward(client: JudgeClient):
    def judge_reward(prompts, completions, answer=None, question=None, **kwargs) -> list[Any]:
        questions = question if question is not None else [completion_text(p) for p in prompts]
        references = answer if answer is not None else [""] * len(completions)
        answers = [split_reasoning(completion_text(c))[1] for c in completions]
        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_REQUESTS, len(answers) or 1)) as pool:
            return list(pool.map(client.score, questions, [str(r or "") for r in references], answers))

    return judge_reward


def judge_from_options(url: str | None, model: str | None, api_key_env: str, timeout_seconds: float) -> JudgeClient:
    if not url:
        raise ConfigError("reward `judge` needs option `judge_url` (an OpenAI-compatible endpoint such as "
                          "http://10.0.0.4:8000/v1)")
    # The key comes from the environment so it never lands in run.json or the events.
    return JudgeClient(url, model, os.environ.get(api_key_env) if api_key_env else None, timeout_seconds)
