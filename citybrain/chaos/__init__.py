"""The chaos suite: prove that every acknowledged event ends stored or dead-lettered, exactly once."""
