"""Logs of every citybrain process, configured once here: structured events through structlog.

Every line carries ``timestamp`` (UTC), ``level``, ``logger`` and ``event`` (the message), plus the
fields a call passes, named as the metrics' labels are (``topic``, ``reason``, ``partition``,
``offset``, ``tick`` …): ``log.warning("…", extra={"topic": t, "reason": r})`` from the standard
library, or keyword arguments with ``structlog.get_logger()``. Written as JSON lines when the log
stream is not a terminal (a log file, a container's output), readable columns on a terminal.

The standard library's loggers — citybrain's own, faust's, aiokafka's, Flask's — go through the same
formatter: ``configure`` owns the root logger, and the worker tells faust not to set up logging of
its own.
"""

from __future__ import annotations

import logging
import sys
from typing import IO

import structlog

_MARK = "_citybrain_handler"

SHARED = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.stdlib.ExtraAdder(),  # a standard-library call's extra={...} become fields
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def wants_json(stream: IO) -> bool:
    """JSON lines unless ``stream`` is a terminal a person reads."""
    try:
        return not stream.isatty()
    except (AttributeError, ValueError):
        return True


def formatter(json_lines: bool) -> structlog.stdlib.ProcessorFormatter:
    if json_lines:
        tail = [
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False, default=str),
        ]
    else:
        tail = [structlog.dev.ConsoleRenderer(colors=False)]
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=SHARED,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *tail],
    )


def configure(
    level: str | int = "INFO",
    libraries: str | int = "WARNING",
    stream: IO | None = None,
    json_lines: bool | None = None,
) -> None:
    """Send this process's log records to ``stream`` (standard error): citybrain's own at ``level`` and
    above, other libraries' (faust, aiokafka, kafka-python …) at ``libraries`` and above, as JSON lines or
    for a terminal (``json_lines`` None: decided by whether ``stream`` is one). A long-running process
    (the worker) passes its level for both; a short command keeps the libraries' chatter out of its
    output. Calling it again replaces the handler it installed before, never adds a second."""
    stream = stream if stream is not None else sys.stderr
    json_lines = wants_json(stream) if json_lines is None else json_lines
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(json_lines))
    setattr(handler, _MARK, True)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(libraries)
    logging.getLogger("citybrain").setLevel(level)
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.add_log_level,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
