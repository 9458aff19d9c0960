"""The city simulator: plausible sensor, camera and citizen-case streams for Chengdu."""
