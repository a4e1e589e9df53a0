"""Retries EC2 Image Builder images whose distribution failed, once per failure event."""
