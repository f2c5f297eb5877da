"""Local fakes of the four AI wire formats (OpenAI Chat Completions, Anthropic Messages, Gemini
generateContent, Ollama /api/chat), on 127.0.0.1 with a random port. Each checks its own auth
header, answers in its own shape with its own usage fields, and speaks its own error bodies;
tests script failures (``fake.fail(status, ...)``: 429 with Retry-After, 5xx, a slow answer)."""

from __future__ import annotations

import json

from tests.integrations.fakes import FakeServer, Reply, Request

KEY = "sk-test-0123456789abcdef"


class FakeProvider(FakeServer):
    kind = ""
    path = ""

    def __init__(self, *, key: str = KEY, answer: str = "Hello from the fake.", tokens_in: int = 12,
                 tokens_out: int = 7):
        super().__init__()
        self.key, self.answer, self.tokens_in, self.tokens_out = key, answer, tokens_in, tokens_out
        self.route("POST", self.path, self._complete)

    # what a test scripts ----------------------------------------------------------------------
    def fail(self, status: int, *, message: str = "boom", retry_after=None, delay: float = 0.0, times: int = 1,
             **extra) -> None:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        reply = Reply(status, self.error_body(status, message, **extra), headers, delay)
        self.script("/", *([reply] * times))

    def slow(self, seconds: float) -> None:
        self.script("/", Reply(200, self.success_body(self.answer, "m"), {}, seconds))

    def bodies(self) -> list[dict]:
        return [r.json() for r in self.requests]

    # the format ---------------------------------------------------------------------------------
    def authorized(self, request: Request) -> bool:
        raise NotImplementedError

    def error_body(self, status: int, message: str, **extra) -> dict:
        raise NotImplementedError

    def success_body(self, text: str, model: str) -> dict:
        raise NotImplementedError

    def _complete(self, request: Request, **groups) -> Reply:
        if not self.authorized(request):
            return Reply(401, self.error_body(401, "Invalid API key provided: sk-te***"))
        model = groups.get("model") or request.json().get("model", "")
        text = self.answer(request) if callable(self.answer) else self.answer
        return Reply(200, self.success_body(text, model))


class FakeOpenAI(FakeProvider):
    kind = "openai"
    path = r"/v1/chat/completions"

    def authorized(self, request):
        return request.headers.get("authorization") == f"Bearer {self.key}"

    def error_body(self, status, message, **extra):
        kinds = {401: ("invalid_request_error", "invalid_api_key"), 429: ("requests", "rate_limit_exceeded"),
                 400: ("invalid_request_error", None)}
        type_, code = kinds.get(status, ("server_error", None))
        return {"error": {"message": message, "type": type_, "param": None, "code": code}}

    def success_body(self, text, model):
        return {"id": "chatcmpl-abc123", "object": "chat.completion", "created": 1765000000, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text, "refusal": None},
                             "logprobs": None, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": self.tokens_in, "completion_tokens": self.tokens_out,
                          "total_tokens": self.tokens_in + self.tokens_out,
                          "prompt_tokens_details": {"cached_tokens": 0}},
                "system_fingerprint": "fp_fake"}


class FakeAnthropic(FakeProvider):
    kind = "anthropic"
    path = r"/v1/messages"

    def authorized(self, request):
        return request.headers.get("x-api-key") == self.key and bool(request.headers.get("anthropic-version"))

    def error_body(self, status, message, **extra):
        type_ = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                 404: "not_found_error", 429: "rate_limit_error", 529: "overloaded_error"}.get(status, "api_error")
        return {"type": "error", "error": {"type": type_, "message": message}, "request_id": "req_011fake"}

    def success_body(self, text, model):
        return {"id": "msg_01fake", "type": "message", "role": "assistant", "model": model,
                "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": None,
                "usage": {"input_tokens": self.tokens_in, "output_tokens": self.tokens_out,
                          "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}


class FakeGemini(FakeProvider):
    kind = "gemini"
    path = r"/v1beta/models/(?P<model>[^/:]+):generateContent"

    def authorized(self, request):
        return request.headers.get("x-goog-api-key") == self.key

    def error_body(self, status, message, **extra):
        state = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                 429: "RESOURCE_EXHAUSTED", 503: "UNAVAILABLE"}.get(status, "INTERNAL")
        error = {"code": status, "message": message, "status": state}
        if extra.get("retry_delay"):
            error["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                 "retryDelay": extra["retry_delay"]}]
        return {"error": error}

    def success_body(self, text, model):
        return {"candidates": [{"content": {"parts": [{"text": text}], "role": "model"}, "finishReason": "STOP",
                                "index": 0}],
                "usageMetadata": {"promptTokenCount": self.tokens_in, "candidatesTokenCount": self.tokens_out,
                                  "totalTokenCount": self.tokens_in + self.tokens_out},
                "modelVersion": model, "responseId": "fakeResponseId"}


class FakeOllama(FakeProvider):
    kind = "ollama"
    path = r"/api/chat"

    def __init__(self, **kwargs):
        kwargs.setdefault("key", "")
        super().__init__(**kwargs)

    def authorized(self, request):
        return True

    def error_body(self, status, message, **extra):
        return {"error": message}

    def success_body(self, text, model):
        return {"model": model, "created_at": "2026-12-07T20:00:00.123456Z",
                "message": {"role": "assistant", "content": text}, "done": True, "done_reason": "stop",
                "total_duration": 4883583458, "load_duration": 1334875, "prompt_eval_count": self.tokens_in,
                "prompt_eval_duration": 342546000, "eval_count": self.tokens_out, "eval_duration": 4535599000}


FAKES = {"openai": FakeOpenAI, "anthropic": FakeAnthropic, "gemini": FakeGemini, "ollama": FakeOllama}


def base_url(fake: FakeProvider) -> str:
    """The base URL an operator would configure for that provider (OpenAI's includes ``/v1``)."""
    return f"{fake.url}/v1" if fake.kind == "openai" else fake.url


def json_answer(value) -> str:
    return json.dumps(value)
