"""Delivery: what changed for whom, the messages that tell them, SMTP and the outbox."""
