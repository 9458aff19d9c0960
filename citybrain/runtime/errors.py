class StartupError(Exception):
    """Something `up` needs could not be started or reached; the message says which."""
