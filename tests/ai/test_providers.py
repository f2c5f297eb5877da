"""Each provider's wire format against a local fake speaking it: the request it sends, the answer
and usage it reads, and every failure turned into the code the router acts on."""

from __future__ import annotations

import pytest

from ai.codes import ErrorCode
from ai.providers import ChatRequest, ProviderError, provider_complete, retry_after_seconds
from tests.ai.fakes import KEY, base_url

KINDS = ["openai", "anthropic", "gemini", "ollama"]
MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-3-5-haiku-latest", "gemini": "gemini-2.0-flash",
          "ollama": "llama3.2"}


def call(fake, *, key=KEY, **request):
    request.setdefault("prompt", "Say hello")
    return provider_complete(kind=fake.kind, base_url=base_url(fake), api_key=key if fake.kind != "ollama" else "",
                             model=MODELS[fake.kind], request=ChatRequest(**request))


@pytest.mark.parametrize("kind", KINDS)
def test_answer_and_usage_are_read_from_the_providers_own_fields(fakes, kind):
    fake = fakes(kind, answer="Hola", tokens_in=31, tokens_out=9)
    completion = call(fake, system="Be brief.", max_tokens=50, temperature=0.2)
    assert (completion.text, completion.tokens_in, completion.tokens_out) == ("Hola", 31, 9)
    assert completion.finish_reason in {"stop", "end_turn", "STOP"}


def test_openai_request_is_chat_completions(fakes):
    fake = fakes("openai")
    call(fake, system="sys", json_output=True, max_tokens=64)
    (request,) = fake.requests
    assert request.path == "/v1/chat/completions" and request.headers["authorization"] == f"Bearer {KEY}"
    assert request.json() == {"model": "gpt-4o-mini", "max_tokens": 64, "response_format": {"type": "json_object"},
                              "messages": [{"role": "system", "content": "sys"},
                                           {"role": "user", "content": "Say hello"}]}


def test_anthropic_request_is_messages_with_version_header(fakes):
    fake = fakes("anthropic")
    call(fake, system="sys", json_output=True, max_tokens=64)
    (request,) = fake.requests
    assert request.path == "/v1/messages" and request.headers["x-api-key"] == KEY
    assert request.headers["anthropic-version"] == "2023-06-01"
    body = request.json()
    assert body["max_tokens"] == 64 and body["messages"] == [{"role": "user", "content": "Say hello"}]
    assert body["system"].startswith("sys") and "JSON" in body["system"]


def test_gemini_request_is_generate_content(fakes):
    fake = fakes("gemini")
    call(fake, system="sys", json_output=True, max_tokens=64, temperature=0.5)
    (request,) = fake.requests
    assert request.path == "/v1beta/models/gemini-2.0-flash:generateContent"
    assert request.headers["x-goog-api-key"] == KEY and "key" not in request.query  # never in the URL
    assert request.json() == {"contents": [{"role": "user", "parts": [{"text": "Say hello"}]}],
                              "systemInstruction": {"parts": [{"text": "sys"}]},
                              "generationConfig": {"maxOutputTokens": 64, "temperature": 0.5,
                                                   "responseMimeType": "application/json"}}


def test_ollama_request_is_api_chat_without_streaming(fakes):
    fake = fakes("ollama")
    call(fake, json_output=True, max_tokens=64)
    (request,) = fake.requests
    assert request.path == "/api/chat" and "authorization" not in request.headers
    assert request.json() == {"model": "llama3.2", "messages": [{"role": "user", "content": "Say hello"}],
                              "stream": False, "format": "json", "options": {"num_predict": 64}}


def test_default_max_tokens_comes_from_settings(fakes, settings):
    settings.AI_MAX_OUTPUT_TOKENS = 77
    fake = fakes("anthropic")
    call(fake)
    assert fake.bodies()[0]["max_tokens"] == 77


@pytest.mark.parametrize("kind", KINDS)
def test_429_is_rate_limited_with_retry_after(fakes, kind):
    fake = fakes(kind)
    fake.fail(429, message="Rate limit reached", retry_after=17)
    with pytest.raises(ProviderError) as caught:
        call(fake)
    assert caught.value.code == ErrorCode.PROVIDER_RATE_LIMITED
    assert caught.value.retry_after == 17 and caught.value.status == 429
    assert "Rate limit reached" in caught.value.message


def test_gemini_429_wait_comes_from_retry_info(fakes):
    fake = fakes("gemini")
    fake.fail(429, message="Quota exceeded", retry_delay="42s")
    with pytest.raises(ProviderError) as caught:
        call(fake)
    assert caught.value.retry_after == 42
    assert "RESOURCE_EXHAUSTED" in caught.value.message


def test_retry_after_forms():
    assert retry_after_seconds({"retry-after-ms": "1500"}) == 1.5
    assert retry_after_seconds({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # in the past
    assert retry_after_seconds({}) is None


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("status", [500, 503])
def test_5xx_is_unavailable(fakes, kind, status):
    fake = fakes(kind)
    fake.fail(status, message="upstream exploded")
    with pytest.raises(ProviderError) as caught:
        call(fake)
    assert caught.value.code == ErrorCode.PROVIDER_UNAVAILABLE and "upstream exploded" in caught.value.message


def test_anthropic_529_overloaded_is_unavailable(fakes):
    fake = fakes("anthropic")
    fake.fail(529, message="Overloaded")
    with pytest.raises(ProviderError) as caught:
        call(fake)
    assert caught.value.code == ErrorCode.PROVIDER_UNAVAILABLE and "overloaded_error" in caught.value.message


@pytest.mark.parametrize("kind", ["openai", "anthropic", "gemini"])
def test_a_wrong_key_is_auth_failed_and_never_echoed(fakes, kind):
    fake = fakes(kind)
    with pytest.raises(ProviderError) as caught:
        call(fake, key="sk-wrong-secret-value-999")
    assert caught.value.code == ErrorCode.PROVIDER_AUTH_FAILED
    assert "sk-wrong-secret-value-999" not in caught.value.message


@pytest.mark.parametrize("kind", KINDS)
def test_400_is_refused_with_the_providers_message(fakes, kind):
    fake = fakes(kind)
    fake.fail(400, message="model 'nope' not found")
    with pytest.raises(ProviderError) as caught:
        call(fake)
    assert caught.value.code == ErrorCode.PROVIDER_REFUSED and "model 'nope' not found" in caught.value.message


@pytest.mark.parametrize("kind", KINDS)
def test_a_slow_answer_is_a_timeout(fakes, kind, settings):
    settings.AI_HTTP_DEADLINE = 0.3
    fake = fakes(kind)
    fake.slow(1.5)
    with pytest.raises(ProviderError) as caught:
        call(fake)
    assert caught.value.code == ErrorCode.PROVIDER_TIMEOUT


def test_an_answer_over_the_cap_is_a_bad_answer(fakes, settings):
    settings.AI_HTTP_MAX_BYTES = 100
    fake = fakes("openai", answer="x" * 500)
    with pytest.raises(ProviderError) as caught:
        call(fake)
    assert caught.value.code == ErrorCode.PROVIDER_BAD_ANSWER


@pytest.mark.parametrize("kind", KINDS)
def test_an_answer_in_another_shape_is_a_bad_answer(fakes, kind):
    from tests.integrations.fakes import Reply

    fake = fakes(kind)
    fake.script("/", Reply(200, {"unexpected": True}))
    with pytest.raises(ProviderError) as caught:
        call(fake)
    assert caught.value.code == ErrorCode.PROVIDER_BAD_ANSWER


def test_a_closed_port_is_unavailable(fakes):
    fake = fakes("openai")
    fake.stop()
    with pytest.raises(ProviderError) as caught:
        call(fake)
    assert caught.value.code == ErrorCode.PROVIDER_UNAVAILABLE
