"""What the API process does not load until it needs it: the provider SDKs
(~50 MB, for a process on the ``direct`` transport that never calls an
Anthropic model) and genai-prices' data for every provider (~65 MB)."""

from __future__ import annotations

import subprocess
import sys

from adapters.llm import clients


def printed_by(code: str) -> str:
    """The last line ``code`` prints, run in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    return done.stdout.strip().splitlines()[-1]


def test_building_the_app_loads_no_provider_sdk() -> None:
    probe = (
        "import sys\n"
        "from entrypoints.config import Settings\n"
        "from entrypoints.http.app import create_app\n"
        "create_app(Settings())\n"
        "print(sorted(m for m in ('openai', 'anthropic') if m in sys.modules))\n"
    )
    assert printed_by(probe) == "[]"


def test_the_catalogue_does_not_load_every_providers_prices() -> None:
    probe = (
        "import sys\n"
        "from adapters.llm.catalogue import Catalogue\n"
        "from domain.llm.models import ModelName\n"
        "Catalogue().lookup(ModelName.require('openai/gpt-4o-mini'))\n"
        "print('genai_prices.data' in sys.modules)\n"
    )
    assert printed_by(probe) == "False"


def test_failures_name_an_sdks_errors_once_it_is_loaded() -> None:
    import anthropic
    import httpx2
    import openai

    caught = clients.failures()
    assert openai.OpenAIError in caught
    assert anthropic.AnthropicError in caught
    timeout = openai.APITimeoutError(request=httpx2.Request("POST", "http://upstream"))
    assert clients.error_from_exception(timeout, "sk-test", 3).kind == "timeout"
