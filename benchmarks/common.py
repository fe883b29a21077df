"""Helpers shared by the benchmark scripts (run as `python benchmarks/NAME.py`)."""

from __future__ import annotations

import datetime
import os
import platform
import socket


def machine() -> str:
    """One line naming when and on what a benchmark ran."""
    return (
        f"{datetime.datetime.now().isoformat(timespec='seconds')} · {platform.platform()} · "
        f"{platform.processor() or platform.machine()} · nproc {os.cpu_count()} "
        f"(usable {len(os.sched_getaffinity(0))}) · python {platform.python_version()}"
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
