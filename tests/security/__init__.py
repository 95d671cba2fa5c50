"""Attacks from an untrusted pull request, each shown refused, redacted, bounded or escaped."""
