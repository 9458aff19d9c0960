"""Appeal hot spots: space-time clusters of citizen cases, detected as they form (pure logic and config)."""
