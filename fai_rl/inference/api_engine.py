"""API models: OpenAI, Anthropic, Google Gemini and any OpenAI-compatible endpoint (vLLM, TGI, llama.cpp...),
told apart by the endpoint and model name. Requests run `concurrency` at a time; the client library retries rate
limits and transient errors (`max_retries`). A row whose request still fails is recorded as failed and the run goes
on; a refused key, an unknown model or an endpoint that cannot be reached stops the run with one line."""
from __future__ import annotations

import importlib
import os
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

from fai_rl.config.secrets import scrub_text
from fai_rl.errors import ConfigError

# provider -> (client package, pip name, environment variables holding the key, default endpoint)
PROVIDERS = {
    "openai": ("openai", "openai", ("OPENAI_API_KEY",), None),
    "anthropic": ("anthropic", "anthropic", ("ANTHROPIC_API_KEY",), None),
    # Gemini through Google's OpenAI-compatible endpoint: the openai client serves it, no google-genai needed
    "gemini": ("openai", "openai", ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
               "https://generativelanguage.googleapis.com/v1beta/openai/"),
}


def provider_of(endpoint: str | None, model: str) -> str:
    text = f"{endpoint or ''} {model}".lower()
    if "anthropic" in text or "claude" in text:
        return "anthropic"
    if "generativelanguage.googleapis" in text or "gemini" in text:
        return "gemini"
    return "openai"  # OpenAI itself, or any OpenAI-compatible server


def client_module(provider: str):
    package, pip_name = PROVIDERS[provider][:2]
    try:
        return importlib.import_module(package)
    except ImportError:
        extra = " (or pip install 'fai-rl[api]')" if pip_name == "openai" else ""
        raise ConfigError(f"{provider} models need the '{pip_name}' package: pip install {pip_name}{extra}")


def api_key(recipe, provider: str) -> str:
    if recipe.api_key:
        return recipe.api_key
    names = PROVIDERS[provider][2]
    found = next((os.environ[n] for n in names if os.environ.get(n)), None)
    if found:
        return found
    if recipe.api_endpoint and provider == "openai":
        return "EMPTY"  # a self-hosted OpenAI-compatible server usually asks for no key
    raise ConfigError(f"no API key for {provider}: set {recipe.key('api_key')} or the environment variable "
                      f"{' or '.join(names)}")


class ApiEngine:
    def __init__(self, recipe):
        self.recipe = recipe
        self.provider = provider_of(recipe.api_endpoint, recipe.model)
        self.lib = client_module(self.provider)
        self.key = api_key(recipe, self.provider)
        endpoint = recipe.api_endpoint or PROVIDERS[self.provider][3]
        client_class = self.lib.Anthropic if self.provider == "anthropic" else self.lib.OpenAI
        self.client = client_class(api_key=self.key, base_url=endpoint, max_retries=recipe.max_retries,
                                   timeout=recipe.request_timeout_s)
        self.endpoint = endpoint or f"{self.provider}'s API"

    def ask(self, chat: list) -> str:
        r = self.recipe
        sampling = dict(temperature=r.temperature if r.do_sample else 0.0)
        if r.do_sample and r.top_p < 1:
            sampling["top_p"] = r.top_p
        if self.provider == "anthropic":
            reply = self.client.messages.create(model=r.model, messages=chat, max_tokens=r.max_new_tokens, **sampling)
            return "".join(getattr(block, "text", "") for block in reply.content)
        reply = self.client.chat.completions.create(model=r.model, messages=chat, max_tokens=r.max_new_tokens,
                                                    **sampling)
        return reply.choices[0].message.content or ""

    def stop_error(self, err: Exception) -> ConfigError | None:
        """The run-stopping problems (key, model, endpoint) as one line; None for a problem of one row."""
        r, lib = self.recipe, self.lib
        if isinstance(err, (lib.AuthenticationError, lib.PermissionDeniedError)):
            return ConfigError(f"{self.endpoint} refused the API key ({err.status_code}): check {r.key('api_key')} "
                               f"or {' / '.join(PROVIDERS[self.provider][2])}")
        if isinstance(err, lib.NotFoundError):
            return ConfigError(f"{self.endpoint} does not serve model '{r.model}' (404): check {r.key('model')} and "
                               f"{r.key('api_endpoint')}")
        if isinstance(err, lib.APIConnectionError):
            return ConfigError(f"cannot reach {r.key('api_endpoint')} {self.endpoint} ({type(err).__name__}, after "
                               f"{r.max_retries} retries); answers so far are kept, rerun to go on")
        return None

    def one(self, row: int, chat: list, record) -> None:
        try:
            response = self.ask(chat)
        except self.lib.APIError as err:
            stop = self.stop_error(err)
            if stop is not None:
                raise stop
            record(row, None, scrub_text(f"{type(err).__name__}: {err}".splitlines()[0], [self.key]))
            return
        record(row, response, None)

    def answer(self, todo: list, record) -> None:
        """todo: [(row, chat)], asked `concurrency` at a time; record(row, response, error) as each comes back."""
        with ThreadPoolExecutor(self.recipe.concurrency) as pool:
            futures = [pool.submit(self.one, row, chat, record) for row, chat in todo]
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            failed = next((f.exception() for f in done if f.exception() is not None), None)
            if failed is not None:
                pool.shutdown(cancel_futures=True)
                raise failed
