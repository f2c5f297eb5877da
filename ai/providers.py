"""The providers' wire formats, over ``cdp.http`` (one call = one request within a total deadline and
a response-size cap). Pure adapters: no database, no routing; ``ai.services.routing`` picks the
model and key and calls ``provider_complete``.

| kind | request | answer text | tokens in / out |
|---|---|---|---|
| openai (also Groq, DeepSeek) | ``POST {base}/chat/completions``, ``Authorization: Bearer`` | ``choices[0].message.content`` | ``usage.prompt_tokens`` / ``usage.completion_tokens`` |
| anthropic | ``POST {base}/v1/messages``, ``x-api-key``, ``anthropic-version`` | ``content[type=text].text`` | ``usage.input_tokens`` (+ cache reads/writes) / ``usage.output_tokens`` |
| gemini | ``POST {base}/v1beta/models/{model}:generateContent``, ``x-goog-api-key`` | ``candidates[0].content.parts[].text`` | ``usageMetadata.promptTokenCount`` / ``candidatesTokenCount`` (+ ``thoughtsTokenCount``) |
| ollama | ``POST {base}/api/chat`` with ``"stream": false`` | ``message.content`` | ``prompt_eval_count`` / ``eval_count`` |

Errors: each provider's own error body (OpenAI/Groq/DeepSeek ``{"error": {"message", "type",
"code"}}``, Anthropic ``{"type": "error", "error": {"type", "message"}}``, Gemini ``{"error":
{"code", "message", "status", "details"}}``, Ollama ``{"error": "..."}``) becomes a
``ProviderError`` whose ``code`` says what the router should do; a 429's wait comes from
``Retry-After`` (seconds or an HTTP date), ``retry-after-ms`` (OpenAI) or Gemini's
``google.rpc.RetryInfo.retryDelay``.

Why not the official SDKs (openai, anthropic, google-genai, ollama): four packages and their
httpx stack for four small JSON calls, each with its own timeout and retry behaviour that would
bypass the product's one outbound client (``cdp.http``: total wall-clock deadline, body cap, no
redirects, no outbound call inside a web request) and retry on their own behind the router's back
(a retry must be a routing decision: another key, another provider).
"""

from __future__ import annotations

import email.utils
import json
import re
import threading
import time
from dataclasses import dataclass

import requests

from ai import conf
from ai.codes import ErrorCode
from cdp import http
from cdp.crypto import mask
from cdp.exceptions import ApplicationError

KINDS = ("openai", "anthropic", "gemini", "ollama")
JSON_INSTRUCTION = "Answer with one JSON object only, no prose and no code fences."


@dataclass(frozen=True)
class ChatRequest:
    prompt: str
    system: str = ""
    json_output: bool = False
    max_tokens: int | None = None
    temperature: float | None = None


@dataclass(frozen=True)
class Completion:
    text: str
    tokens_in: int
    tokens_out: int
    model: str = ""  # as the provider names it in its answer
    finish_reason: str = ""


class ProviderError(ApplicationError):
    """One attempt failed. ``code`` (``ErrorCode.PROVIDER_*``) tells the router what happened;
    ``retry_after`` is the provider's requested wait in seconds (a 429), if it said one."""

    http_status = 502

    def __init__(self, message: str, *, code: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(message, code=code)
        self.status = status
        self.retry_after = retry_after


# --- HTTP -----------------------------------------------------------------------------------------

_local = threading.local()


def _session() -> requests.Session:
    """One pooled session per thread: keep-alive to the provider across calls (the routing layer's
    cost beside a direct call is mostly a new TCP connection otherwise)."""
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = http.trusted_session()
    return session


def retry_after_seconds(headers, body=None) -> float | None:
    """The wait a 429 asks for: ``retry-after-ms``, ``Retry-After`` (seconds or an HTTP date), or
    Gemini's ``RetryInfo.retryDelay`` ("30s") in the error body. None when it says none."""
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000)
        except ValueError:
            pass
    value = headers.get("Retry-After")
    if value:
        value = value.strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(value) if value else None
            if parsed is not None:
                return max(0.0, parsed.timestamp() - time.time())
    details = (body or {}).get("error", {}).get("details") if isinstance(body, dict) else None
    for detail in details if isinstance(details, list) else []:
        delay = isinstance(detail, dict) and detail.get("retryDelay")
        match = re.fullmatch(r"(\d+(?:\.\d+)?)s", str(delay or ""))
        if match:
            return float(match.group(1))
    return None


def _error_message(body) -> str:
    """The human part of any of the four error bodies."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, str):  # Ollama
            return error
        if isinstance(error, dict):  # OpenAI, Anthropic ("type" + "message"), Gemini ("status" + "message")
            kind = error.get("type") or error.get("status") or error.get("code") or ""
            message = error.get("message") or ""
            return f"{kind}: {message}".strip(": ") if kind else str(message)
    return ""


def _code_for_status(status: int) -> str:
    if status == 429:
        return ErrorCode.PROVIDER_RATE_LIMITED
    if status in (401, 403):
        return ErrorCode.PROVIDER_AUTH_FAILED
    if status == 408 or status >= 500:  # 500, 502, 503, Anthropic's 529 "overloaded"
        return ErrorCode.PROVIDER_UNAVAILABLE
    return ErrorCode.PROVIDER_REFUSED


def _post(url: str, *, headers: dict, body: dict, secret: str, provider: str, params: dict | None = None) -> dict:
    deadline, timeout = float(conf.get("AI_HTTP_DEADLINE")), float(conf.get("AI_HTTP_TIMEOUT"))
    try:
        response = http.outbound_request("POST", url, deadline=deadline, timeout=timeout,
                                         max_bytes=int(conf.get("AI_HTTP_MAX_BYTES")), session=_session(),
                                         trusted=True, headers={"Content-Type": "application/json", **headers},
                                         params=params, data=json.dumps(body))
    except http.ResponseTooLarge as exc:
        raise ProviderError(f"{provider}: {exc}", code=ErrorCode.PROVIDER_BAD_ANSWER) from None
    except requests.Timeout:
        raise ProviderError(f"{provider}: no complete answer within {deadline:g}s.",
                            code=ErrorCode.PROVIDER_TIMEOUT) from None
    except (requests.RequestException, OSError) as exc:
        raise ProviderError(mask(f"{provider}: {type(exc).__name__} while connecting.", [secret]),
                            code=ErrorCode.PROVIDER_UNAVAILABLE) from None
    try:
        data = response.json()
    except ValueError:
        data = None
    if response.status_code >= 400:
        detail = _error_message(data) or response.text[:200] or response.reason or ""
        raise ProviderError(mask(f"{provider} answered {response.status_code}: {detail}"[:480], [secret]),
                            code=_code_for_status(response.status_code), status=response.status_code,
                            retry_after=retry_after_seconds(response.headers, data)
                            if response.status_code == 429 else None)
    if not isinstance(data, dict):
        raise ProviderError(f"{provider} answered {response.status_code} without a JSON object.",
                            code=ErrorCode.PROVIDER_BAD_ANSWER, status=response.status_code)
    return data


def _bad(provider: str, what: str) -> ProviderError:
    return ProviderError(f"{provider}: {what}", code=ErrorCode.PROVIDER_BAD_ANSWER)


def _count(value) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


def _base(url: str) -> str:
    return url.rstrip("/")


# --- the four formats -------------------------------------------------------------------------------

def _openai(base_url, api_key, model, request: ChatRequest) -> Completion:
    messages = ([{"role": "system", "content": request.system}] if request.system else []) + \
        [{"role": "user", "content": request.prompt}]
    body = {"model": model, "messages": messages, "max_tokens": request.max_tokens}
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.json_output:
        body["response_format"] = {"type": "json_object"}
    data = _post(f"{_base(base_url)}/chat/completions", headers={"Authorization": f"Bearer {api_key}"},
                 body=body, secret=api_key, provider="openai")
    try:
        choice = data["choices"][0]
        text = choice["message"]["content"] or ""
    except (KeyError, IndexError, TypeError):
        raise _bad("openai", "no choices[0].message.content in the answer.") from None
    usage = data.get("usage") or {}
    return Completion(text=text, tokens_in=_count(usage.get("prompt_tokens")),
                      tokens_out=_count(usage.get("completion_tokens")), model=str(data.get("model") or model),
                      finish_reason=str(choice.get("finish_reason") or ""))


def _anthropic(base_url, api_key, model, request: ChatRequest) -> Completion:
    base = _base(base_url)
    url = f"{base}/messages" if base.endswith("/v1") else f"{base}/v1/messages"
    system = "\n\n".join(filter(None, [request.system, JSON_INSTRUCTION if request.json_output else ""]))
    body = {"model": model, "max_tokens": request.max_tokens, "messages": [{"role": "user", "content": request.prompt}]}
    if system:
        body["system"] = system
    if request.temperature is not None:
        body["temperature"] = request.temperature
    data = _post(url, headers={"x-api-key": api_key, "anthropic-version": conf.get("AI_ANTHROPIC_VERSION")},
                 body=body, secret=api_key, provider="anthropic")
    blocks = data.get("content")
    if not isinstance(blocks, list):
        raise _bad("anthropic", "no content blocks in the answer.")
    text = "".join(block.get("text", "") for block in blocks if isinstance(block, dict) and block.get("type") == "text")
    usage = data.get("usage") or {}
    tokens_in = sum(_count(usage.get(name)) for name in
                    ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"))
    return Completion(text=text, tokens_in=tokens_in, tokens_out=_count(usage.get("output_tokens")),
                      model=str(data.get("model") or model), finish_reason=str(data.get("stop_reason") or ""))


def _gemini(base_url, api_key, model, request: ChatRequest) -> Completion:
    base = _base(base_url)
    if not re.search(r"/v1(alpha|beta)?$", base):
        base = f"{base}/v1beta"
    name = model.removeprefix("models/")
    body = {"contents": [{"role": "user", "parts": [{"text": request.prompt}]}],
            "generationConfig": {"maxOutputTokens": request.max_tokens}}
    if request.system:
        body["systemInstruction"] = {"parts": [{"text": request.system}]}
    if request.temperature is not None:
        body["generationConfig"]["temperature"] = request.temperature
    if request.json_output:
        body["generationConfig"]["responseMimeType"] = "application/json"
    data = _post(f"{base}/models/{name}:generateContent", headers={"x-goog-api-key": api_key}, body=body,
                 secret=api_key, provider="gemini")
    candidates = data.get("candidates")
    if not candidates:
        reason = (data.get("promptFeedback") or {}).get("blockReason")
        raise _bad("gemini", f"no candidates (prompt blocked: {reason})." if reason else "no candidates in the answer.")
    try:
        parts = candidates[0]["content"]["parts"]
        text = "".join(part.get("text", "") for part in parts if isinstance(part, dict) and not part.get("thought"))
    except (KeyError, IndexError, TypeError):
        raise _bad("gemini", f"candidate without content (finishReason {candidates[0].get('finishReason')}).") from None
    usage = data.get("usageMetadata") or {}
    return Completion(text=text, tokens_in=_count(usage.get("promptTokenCount")),
                      tokens_out=_count(usage.get("candidatesTokenCount")) + _count(usage.get("thoughtsTokenCount")),
                      model=str(data.get("modelVersion") or name),
                      finish_reason=str(candidates[0].get("finishReason") or ""))


def _ollama(base_url, api_key, model, request: ChatRequest) -> Completion:
    messages = ([{"role": "system", "content": request.system}] if request.system else []) + \
        [{"role": "user", "content": request.prompt}]
    options = {"num_predict": request.max_tokens}
    if request.temperature is not None:
        options["temperature"] = request.temperature
    body = {"model": model, "messages": messages, "stream": False, "options": options}
    if request.json_output:
        body["format"] = "json"
    # Ollama has no keys of its own; one behind a proxy that wants a bearer token gets it.
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    data = _post(f"{_base(base_url)}/api/chat", headers=headers, body=body, secret=api_key, provider="ollama")
    message = data.get("message")
    if not isinstance(message, dict) or "content" not in message:
        raise _bad("ollama", "no message.content in the answer.")
    return Completion(text=str(message.get("content") or ""), tokens_in=_count(data.get("prompt_eval_count")),
                      tokens_out=_count(data.get("eval_count")), model=str(data.get("model") or model),
                      finish_reason=str(data.get("done_reason") or ""))


_ADAPTERS = {"openai": _openai, "anthropic": _anthropic, "gemini": _gemini, "ollama": _ollama}


def provider_complete(*, kind: str, base_url: str, api_key: str, model: str, request: ChatRequest) -> Completion:
    """One chat call in ``kind``'s wire format. Raises ``ProviderError`` (never retries: the router
    decides what to try next)."""
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        raise ApplicationError(f"Unknown provider kind {kind!r}.", code=ErrorCode.PROVIDER_KIND_INVALID)
    if request.max_tokens is None:
        request = ChatRequest(prompt=request.prompt, system=request.system, json_output=request.json_output,
                              max_tokens=int(conf.get("AI_MAX_OUTPUT_TOKENS")), temperature=request.temperature)
    return adapter(base_url, api_key or "", model, request)
