"""Quiet datatrove on the console: task logs keep everything under OUT/logs/, the console shows warnings
and errors, so progress bars and the summary stay readable. Imported by every block module, so worker
processes (forkserver) are quiet too."""
from __future__ import annotations

import sys
from functools import wraps

import datatrove.executor.base as _base
import datatrove.utils.logging as _dt_logging
from loguru import logger

_orig_add_task_logger = _base.add_task_logger


@wraps(_orig_add_task_logger)
def _quiet_task_logger(logging_dir, rank, local_rank=0, node_rank=-1):
    # local_rank != 0 makes datatrove print only errors to the console; the log file keeps everything
    return _orig_add_task_logger(logging_dir, rank, local_rank=1, node_rank=node_rank)


def _quiet_default_logger():
    logger.remove()
    logger.add(sys.stderr, level="WARNING", colorize=False, format="{level}: {message}")


_base.add_task_logger = _quiet_task_logger
_dt_logging.setup_default_logger = _quiet_default_logger
_quiet_default_logger()


