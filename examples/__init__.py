"""Example plugins and session files (run them from the repository root so `examples` is importable)."""
