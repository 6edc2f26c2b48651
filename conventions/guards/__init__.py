"""Guards on every suggestion: licence, security and secrets, each answering allow / annotate / block.

    pipeline = GuardPipeline.for_index(index)
    result = pipeline.check(Suggestion(text, document_text, line, character, "python", "pkg/mod.py"))
    if result.blocked: ...
"""

from __future__ import annotations

from .base import Decision, GuardResult, Suggestion
from .config import GuardConfig
from .license import LicenseGuard
from .pipeline import AuditLog, GuardPipeline
from .secrets import SecretGuard
from .security import SecurityGuard

__all__ = [
    "AuditLog",
    "Decision",
    "GuardConfig",
    "GuardPipeline",
    "GuardResult",
    "LicenseGuard",
    "SecretGuard",
    "SecurityGuard",
    "Suggestion",
]
