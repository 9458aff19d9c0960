"""`citybrain bench`: throughput measured against the machine's raw limits in the same run."""
