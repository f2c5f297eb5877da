"""Unified customer profiles (tenant schema). Models arrive with the customers issue."""
