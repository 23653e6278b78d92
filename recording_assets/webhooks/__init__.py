"""Signed webhooks (Standard Webhooks) telling other systems that a day was archived."""
