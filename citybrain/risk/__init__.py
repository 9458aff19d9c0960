"""Explainable district risk: configuration, pure scoring, window arithmetic."""
