"""`workspace/symbol` answered from the index: hybrid (semantic + keyword) search over definitions,
with definitions whose name contains the query ranked first."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from lsprotocol import types

from copilot_index.indexer import CopilotIndexError

if TYPE_CHECKING:
    from copilot_index.indexer import SearchResult

    from ..server import CopilotLanguageServer
    from ..workspace import Project

log = logging.getLogger(__name__)

SYMBOL_KINDS: dict[str, types.SymbolKind] = {
    "class": types.SymbolKind.Class,
    "function": types.SymbolKind.Function,
    "method": types.SymbolKind.Method,
    "enum": types.SymbolKind.Enum,
    "interface": types.SymbolKind.Interface,
    "trait": types.SymbolKind.Interface,
    "namespace": types.SymbolKind.Namespace,
    "struct": types.SymbolKind.Struct,
    "impl": types.SymbolKind.Class,
    "type": types.SymbolKind.TypeParameter,
}


def register(server: CopilotLanguageServer) -> None:
    @server.feature(types.WORKSPACE_SYMBOL)
    async def workspace_symbol(params: types.WorkspaceSymbolParams) -> list[types.WorkspaceSymbol]:
        query = params.query.strip()
        if not query:
            return []
        found: list[types.WorkspaceSymbol] = []
        for project in list(server.projects):
            found.extend(await asyncio.to_thread(_symbols, project, query))
        return found


def _symbols(project: Project, query: str) -> list[types.WorkspaceSymbol]:
    """Definitions named exactly `query` first (from the moment their file is indexed), then the search's
    ranking, with names that contain the query ahead of the rest."""
    if not project.index.exists:
        return []
    limit = project.settings.lsp.symbol_results
    try:
        exact = [r for r in project.index.find_symbols(query, limit) if r.kind in SYMBOL_KINDS]
        ranked = [r for r in project.index.search(query, k=limit * 2) if r.symbol and r.kind in SYMBOL_KINDS]
    except CopilotIndexError as exc:
        log.info("workspace/symbol in %s: %s", project.root, exc)
        return []
    needle = query.lower()
    ranked.sort(key=lambda r: (needle not in r.symbol.lower(), -r.score))
    seen = {(r.path, r.start_line) for r in exact}
    results = exact + [r for r in ranked if (r.path, r.start_line) not in seen]
    return [_symbol(project, r) for r in results[:limit]]


def _symbol(project: Project, result: SearchResult) -> types.WorkspaceSymbol:
    name = result.symbol.rsplit(".", 1)[-1]
    container = result.symbol.rsplit(".", 1)[0] if "." in result.symbol else None
    start = types.Position(result.start_line - 1, 0)
    end = types.Position(result.end_line, 0)
    return types.WorkspaceSymbol(
        name=name,
        kind=SYMBOL_KINDS[result.kind],
        location=types.Location(uri=project.uri_for(result.path), range=types.Range(start, end)),
        container_name=container or result.path,
    )
