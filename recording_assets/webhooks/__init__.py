"""Signed webhooks (Standard Webhooks): a day was archived, a recording was archived, an archive run failed."""
