"""The OpenAI-compatible chat model, imported only when an `openai:` provider is asked for.

Every call has a total deadline, not just a read timeout: a server that trickles one token
every half second, or keeps the connection open without finishing, resets any read timeout
forever. The deadline is enforced where the bytes arrive (an httpx event hook wraps each
response's byte stream), so it holds for plain and streamed replies alike, and across the
SDK's own retries of the same call.
"""

from __future__ import annotations

import contextvars
import time
from typing import Any, Iterator

import openai
from langchain_core.outputs import ChatGenerationChunk
from langchain_openai import ChatOpenAI
# The httpx flavour the installed openai SDK is built on (httpx2 for openai>=3): the byte
# stream put into its responses must be that library's class.
from langchain_openai._compat import httpx
from pydantic import model_validator

from linernotes.agent.deadline import out_of_time_result, seconds_left
from linernotes.agent.providers import _CHARACTERS_PER_TOKEN, ProviderError, redact

# (deadline on time.monotonic(), seconds allowed) of the call running in this context.
_CALL: contextvars.ContextVar[tuple[float, float] | None] = contextvars.ContextVar("linernotes_llm_call", default=None)


class CallDeadlineExceeded(openai.OpenAIError):
    """The call's total time ran out; an `OpenAIError`, so the SDK neither retries nor rewraps it."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"no complete reply within {seconds:g} s; the call was abandoned")


class _DeadlineStream(httpx.SyncByteStream):
    """A response body that stops at the deadline, however slowly its bytes come."""

    def __init__(self, inner: Any, *, deadline: float, seconds: float) -> None:
        self._inner, self._deadline, self._seconds = inner, deadline, seconds

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._inner:
            if time.monotonic() > self._deadline:
                raise CallDeadlineExceeded(self._seconds)
            yield chunk

    def close(self) -> None:
        self._inner.close()


def _clamp_request(request: Any) -> None:
    """Before each request (retries too): refuse one past the deadline; no wait may outlast it."""
    call = _CALL.get()
    if call is None:
        return
    deadline, seconds = call
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise CallDeadlineExceeded(seconds)
    timeouts = request.extensions.get("timeout") or dict.fromkeys(("connect", "read", "write", "pool"))
    request.extensions["timeout"] = {name: remaining if value is None else min(value, remaining)
                                     for name, value in timeouts.items()}


def _bound_response(response: Any) -> None:
    """After the headers: the body is read through `_DeadlineStream`."""
    call = _CALL.get()
    if call is not None:
        response.stream = _DeadlineStream(response.stream, deadline=call[0], seconds=call[1])


def deadline_http_client(*, timeout: Any = None) -> Any:
    """The SDK's default HTTP client (proxies from the environment included) with the deadline hooks.

    Parameters
    ----------
    timeout : float or httpx.Timeout, optional
        The longest silence allowed (connect, each read); None keeps the SDK's default.
    """
    options = {"timeout": timeout} if timeout is not None else {}
    return openai.DefaultHttpxClient(event_hooks={"request": [_clamp_request], "response": [_bound_response]},
                                     **options)


class CompatibleChatOpenAI(ChatOpenAI):
    """ChatOpenAI that never sends a null assistant content (llama.cpp's server rejects it),
    gives up on a call after `call_deadline_s` seconds, and raises only `ProviderError`."""

    # Seconds one call may take in all, retries included. Enforced by `deadline_http_client`'s
    # hooks, put in unless an HTTP client (or a proxy) is given; streamed chunks are checked too.
    call_deadline_s: float = 90.0

    @model_validator(mode="before")
    @classmethod
    def _with_deadline_client(cls, values: Any) -> Any:
        if isinstance(values, dict) and not any(values.get(name) for name in ("http_client", "openai_proxy")):
            timeout = values.get("timeout", values.get("request_timeout"))
            values = {**values, "http_client": deadline_http_client(timeout=timeout)}
        return values

    def _get_request_payload(self, input_, *, stop=None, **kwargs):
        payload = super()._get_request_payload(input_, stop=stop, **kwargs)
        for message in payload.get("messages", []):
            if message.get("role") == "assistant" and message.get("content") is None:
                message["content"] = ""
        return payload

    def _provider_error(self, error: Exception) -> ProviderError:
        # Servers quote the key they were given in their errors ("Incorrect API key: sk-…").
        if isinstance(error, ProviderError):
            return error
        secret = self.openai_api_key.get_secret_value() if self.openai_api_key else None
        cause = _deadline_cause(error)
        if cause is not None:
            return ProviderError(str(cause))
        message = " ".join(str(error).split()) or type(error).__name__
        return ProviderError(redact(f"{type(error).__name__}: {message}"[:300], secret=secret))

    def _limit(self, kwargs: dict) -> int | None:
        return kwargs.get("max_tokens") or self.max_tokens

    def _generate(self, *args, **kwargs):
        # Inside a narrative's budget (`agent.deadline`) the call may get less than its own
        # limit; cut off by the budget rather than by its limit, it is an empty reply, not a fault.
        seconds = seconds_left(self.call_deadline_s)
        if seconds <= 0.0:
            return out_of_time_result(self.model_name)
        token = _CALL.set((time.monotonic() + seconds, seconds))
        try:
            result = super()._generate(*args, **kwargs)
        except Exception as error:
            if seconds < self.call_deadline_s and _deadline_cause(error) is not None:
                return out_of_time_result(self.model_name)
            raise self._provider_error(error) from None
        finally:
            _CALL.reset(token)
        # A server that ignores max_tokens could hand back megabytes: refuse, do not pass it on.
        limit = self._limit(kwargs)
        longest = max((len(generation.message.text) for generation in result.generations), default=0)
        if limit and longest > _CHARACTERS_PER_TOKEN * limit:
            raise ProviderError(f"the server ignored max_tokens={limit}: it replied {longest} characters")
        return result

    def _stream(self, *args, **kwargs) -> Iterator[ChatGenerationChunk]:
        # The deadline is set around each step of the SDK's iterator, never across a `yield`:
        # a context variable set inside a generator would leak into its consumer.
        started = time.monotonic()
        call = (started + self.call_deadline_s, self.call_deadline_s)
        limit, received, finished = self._limit(kwargs), 0, False
        inner = super()._stream(*args, **kwargs)
        try:
            while True:
                token = _CALL.set(call)
                try:
                    chunk = next(inner)
                except StopIteration:
                    # The SDK ends quietly when the connection drops mid-stream: a reply
                    # without its finish_reason was cut off, not finished.
                    if not finished:
                        raise ProviderError("the server closed the stream before the reply finished") from None
                    return
                except Exception as error:
                    raise self._provider_error(error) from None
                finally:
                    _CALL.reset(token)
                if time.monotonic() > call[0]:  # complete SSE events that trickle in
                    raise ProviderError(str(CallDeadlineExceeded(self.call_deadline_s)))
                finished = finished or bool((chunk.generation_info or {}).get("finish_reason"))
                received += len(chunk.text)
                if limit and received > _CHARACTERS_PER_TOKEN * limit:
                    raise ProviderError(f"the server ignored max_tokens={limit}: it streamed {received} characters")
                yield chunk
        finally:
            inner.close()  # closes the response: the connection is not left trickling


def _deadline_cause(error: BaseException) -> CallDeadlineExceeded | None:
    """The deadline the hooks raised, if that is what ended the call (the SDK wraps it)."""
    cause: BaseException | None = error
    while cause is not None and not isinstance(cause, CallDeadlineExceeded):
        cause = cause.__cause__
    return cause

