"""Connectors, credentials, syncs and webhooks (tenant schema). Models arrive with the integrations issue."""
