"""Add an AI provider with one model and one pool key:

    python manage.py ai_provider_add groq --kind openai --base-url https://api.groq.com/openai/v1 \\
        --api-key "$GROQ_KEY" --model llama-3.3-70b-versatile --input-cost-per-1k 0.00059 \\
        --output-cost-per-1k 0.00079 --priority 10

The key is stored encrypted and never printed (only its last four characters)."""

from __future__ import annotations

from cdp.commands import CdpCommand
from cdp.context import Actor

from ai.models import CAPABILITIES, Provider
from ai.services import provider_add


class Command(CdpCommand):
    help = "Add an AI provider (OpenAI-compatible, Anthropic, Gemini or Ollama) with one model and one key."

    def add_arguments(self, parser):
        parser.add_argument("name", help="A slug naming the provider (e.g. openai, groq, deepseek, claude).")
        parser.add_argument("--kind", required=True, choices=Provider.Kind.values)
        parser.add_argument("--base-url", required=True)
        parser.add_argument("--api-key", default="", help="Required except for Ollama.")
        parser.add_argument("--model", required=True, help="The provider's model id.")
        parser.add_argument("--input-cost-per-1k", required=True, help="USD per 1,000 input tokens.")
        parser.add_argument("--output-cost-per-1k", required=True, help="USD per 1,000 output tokens.")
        parser.add_argument("--priority", type=int, default=100, help="Lower is tried first (default 100).")
        parser.add_argument("--capabilities", default="chat,json",
                            help=f"Comma-separated, any of {', '.join(CAPABILITIES)} (default chat,json).")
        parser.add_argument("--context-window", type=int, default=8192)
        parser.add_argument("--rpm", type=int, default=None, help="Requests per minute of the key.")
        parser.add_argument("--tpm", type=int, default=None, help="Tokens per minute of the key.")

    def handle(self, *args, **options):
        provider = provider_add(
            actor=Actor.system("command:ai_provider_add"), name=options["name"], kind=options["kind"],
            base_url=options["base_url"], api_key=options["api_key"], model=options["model"],
            input_cost_per_1k=options["input_cost_per_1k"], output_cost_per_1k=options["output_cost_per_1k"],
            priority=options["priority"], context_window=options["context_window"],
            capabilities=[c.strip() for c in options["capabilities"].split(",") if c.strip()],
            rpm_limit=options["rpm"], tpm_limit=options["tpm"])
        key = provider.keys.get()
        self.stdout.write(self.style.SUCCESS(
            f"Provider {provider.name} ({provider.kind}) added with model {options['model']} and key {key.masked}."))
