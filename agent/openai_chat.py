"""The OpenAI-compatible chat model, imported only when an `openai:` provider is asked for."""

from __future__ import annotations

from langchain_openai import ChatOpenAI

from linernotes.agent.providers import _CHARACTERS_PER_TOKEN, ProviderError, redact


class CompatibleChatOpenAI(ChatOpenAI):
    """ChatOpenAI that never sends a null assistant content (llama.cpp's server rejects it)."""

    def _get_request_payload(self, input_, *, stop=None, **kwargs):
        payload = super()._get_request_payload(input_, stop=stop, **kwargs)
        for message in payload.get("messages", []):
            if message.get("role") == "assistant" and message.get("content") is None:
                message["content"] = ""
        return payload

    def _generate(self, *args, **kwargs):
        # Servers quote the key they were given in their errors ("Incorrect API key: sk-…").
        try:
            result = super()._generate(*args, **kwargs)
        except Exception as error:
            secret = self.openai_api_key.get_secret_value() if self.openai_api_key else None
            message = " ".join(str(error).split()) or type(error).__name__
            raise ProviderError(redact(f"{type(error).__name__}: {message}"[:300], secret=secret)) from None
        # A server that ignores max_tokens could hand back megabytes: refuse, do not pass it on.
        limit = kwargs.get("max_tokens") or self.max_tokens
        longest = max((len(generation.message.text) for generation in result.generations), default=0)
        if limit and longest > _CHARACTERS_PER_TOKEN * limit:
            raise ProviderError(f"the server ignored max_tokens={limit}: it replied {longest} characters")
        return result
