"""ob1-gateway: OpenAI and Anthropic APIs for a team, served over the OB-1 model backend."""

__version__ = "0.1.0"
