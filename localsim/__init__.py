"""Local simulation: the synthesized rule and queue in moto, the real handler, a fake
Image Builder."""
