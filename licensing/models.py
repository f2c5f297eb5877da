"""Plans, licenses and validation (public schema). Models arrive with the licensing issue."""
