"""The provider SDKs are loaded on first use only: a process on the ``direct``
transport that never calls an Anthropic model keeps ~50 MB less."""

from __future__ import annotations

import subprocess
import sys

from adapters.llm import clients


def test_building_the_app_loads_no_provider_sdk() -> None:
    probe = (
        "import sys\n"
        "from entrypoints.config import Settings\n"
        "from entrypoints.http.app import create_app\n"
        "create_app(Settings())\n"
        "print(sorted(m for m in ('openai', 'anthropic') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_failures_name_an_sdks_errors_once_it_is_loaded() -> None:
    import anthropic
    import httpx2
    import openai

    caught = clients.failures()
    assert openai.OpenAIError in caught
    assert anthropic.AnthropicError in caught
    timeout = openai.APITimeoutError(request=httpx2.Request("POST", "http://upstream"))
    assert clients.error_from_exception(timeout, "sk-test", 3).kind == "timeout"
