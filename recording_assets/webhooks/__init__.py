"""Signed webhooks (Standard Webhooks): a day archived, a recording archived, an archive run failed."""
