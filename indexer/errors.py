"""User-facing errors: each carries one sentence saying what was wrong and what to do."""

from __future__ import annotations


class CopilotIndexError(Exception):
    """An error caused by the user's input or environment, shown as one clear sentence."""

    exit_code = 2


class NotARepositoryError(CopilotIndexError):
    """The path given is not a folder that can be indexed."""


class IndexBusyError(CopilotIndexError):
    """Another process holds the index lock."""

    exit_code = 3


class IndexCorruptError(CopilotIndexError):
    """The database file is damaged or belongs to another program."""


class IndexAccessError(CopilotIndexError):
    """The index's folder cannot be written: permissions, a read-only file system, a full disk."""


class EmbedderMismatchError(CopilotIndexError):
    """The index was built with another embedder than the configured one."""


class NoIndexError(CopilotIndexError):
    """A command needs an index that does not exist yet."""


class ConfigError(CopilotIndexError):
    """A configuration file cannot be read at all."""
