"""The language server end to end over stdio, as VS Code and Neovim drive it: a real git repository,
the real embedder (in the server process) and a small real model."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import pytest_lsp
from lsp_support import (
    CLIENTS,
    RINGS,
    SERVER_COMMAND,
    Workspace,
    accept_registrations,
    command,
    initialize_params,
    inline_params,
    make_workspace,
    open_document,
    wait_for_index,
)
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import ClientServerConfig, LanguageClient

pytestmark = pytest.mark.asyncio(loop_scope="module")

SPECIAL_TOKENS = ("<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|endoftext|>", "<|file_sep|>")
CURSOR = (4, len("    return circle_area(outer) - "))


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER_COMMAND), scope="module", params=CLIENTS)
async def client(lsp_client: LanguageClient, request: pytest.FixtureRequest, tiny_model_dir: Path):  # type: ignore[no-untyped-def]
    """One server per kind of client, each on its own repository (pytest-lsp starts the server first)."""
    tmp = request.getfixturevalue("tmp_path_factory").mktemp(request.param)
    workspace = make_workspace(request.param, tmp / "repo")
    options = {
        "completion": {"model": str(tiny_model_dir)},
        "lsp": {"index_debounce_ms": 100, "head_poll_seconds": 0.3},
    }
    lsp_client.registrations = accept_registrations(lsp_client)  # type: ignore[attr-defined]
    await lsp_client.initialize_session(initialize_params(workspace.client_name, workspace.root, options))
    lsp_client.workspace_under_test = workspace  # type: ignore[attr-defined]
    await wait_for_index(lsp_client)
    yield
    await lsp_client.shutdown_session()


@pytest.fixture(scope="module")
def workspace(client: LanguageClient) -> Workspace:
    return client.workspace_under_test  # type: ignore[attr-defined,no-any-return]


async def _configure(client: LanguageClient, lsp: dict[str, object]) -> None:
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"copilotIndex": {"lsp": lsp}})
    )
    await command(client, "copilotIndex.status")  # handled after the notification: the settings are in


async def test_inline_completion_is_grounded_in_other_files(client: LanguageClient, workspace: Workspace):
    uri = workspace.uri("app/rings.py")
    open_document(client, uri, RINGS)  # the buffer, not the file on disk, is the context
    result = await client.text_document_inline_completion_async(inline_params(uri, *CURSOR))
    assert isinstance(result, types.InlineCompletionList)

    last = await command(client, "copilotIndex.suggestionSources", uri)
    paths = {source["path"] for source in last["sources"]}
    assert "geometry.py" in paths and "app/rings.py" not in paths
    assert last["stop_reason"] in {"stop_token", "newline", "max_tokens"}
    for item in result.items:
        assert item.insert_text == last["completion"] and "\n" not in item.insert_text
        assert not any(token in item.insert_text for token in SPECIAL_TOKENS)
        assert {d["guard"] for d in last["guard"]} >= {"secrets", "security"}
        assert item.command is not None and item.command.command == "copilotIndex.suggestionSources"


async def test_completion_fallback_carries_the_suggestion(client: LanguageClient, workspace: Workspace):
    uri = workspace.uri("app/rings.py")
    result = await client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(*CURSOR)))
    assert isinstance(result, types.CompletionList) and len(result.items) <= 1
    last = await command(client, "copilotIndex.suggestionSources", uri)
    for item in result.items:
        assert item.text_edit is not None and item.text_edit.new_text == last["completion"]
        assert item.data["sources"] == last["sources"]


async def test_workspace_symbol_finds_definitions(client: LanguageClient, workspace: Workspace):
    by_name = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="circle_area"))
    assert by_name[0].name == "circle_area"
    assert by_name[0].location.uri == workspace.uri("geometry.py")
    assert by_name[0].kind == types.SymbolKind.Function

    semantic = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="wait before retrying a request"))
    assert semantic[0].location.uri == workspace.uri("net/http.py")
    assert semantic[0].name in {"RetryPolicy", "delay"}
    assert await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="")) == []


async def test_search_command_answers_in_the_cli_shape(client: LanguageClient, workspace: Workspace):
    answer = await command(client, "copilotIndex.search", {"query": "euclidean distance between two points", "k": 3})
    assert answer["query"] == "euclidean distance between two points" and answer["root"] == str(workspace.root)
    top = answer["results"][0]
    assert set(top) == {"path", "start_line", "end_line", "symbol", "kind", "language", "score", "text"}
    assert (top["path"], top["symbol"]) == ("geometry.py", "distance")
    plain = await command(client, "copilotIndex.search", "parse an HTTP header line")
    assert plain["results"][0]["symbol"] == "parseHTTPHeader"
    with pytest.raises(JsonRpcException, match="mode must be one of"):
        await command(client, "copilotIndex.search", {"query": "x", "mode": "psychic"})


async def test_saving_a_changed_file_makes_its_new_function_searchable(client: LanguageClient, workspace: Workspace):
    runs = (await command(client, "copilotIndex.status"))["indexing"]["runs"]
    text = (workspace.root / "geometry.py").read_text() + (
        "\n\ndef triangle_perimeter(a, b, c):\n    \"\"\"Sum of the three side lengths of a triangle.\"\"\"\n"
        "    return a + b + c\n"
    )
    uri = workspace.uri("geometry.py")
    open_document(client, uri, text)
    workspace.write("geometry.py", text)
    client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri)))
    await wait_for_index(client, runs + 1)
    answer = await command(client, "copilotIndex.search", {"query": "triangle_perimeter", "k": 3, "mode": "keyword"})
    assert answer["results"][0]["symbol"] == "triangle_perimeter"


async def test_a_commit_on_another_branch_is_indexed_when_head_moves(client: LanguageClient, workspace: Workspace):
    runs = (await command(client, "copilotIndex.status"))["indexing"]["runs"]
    workspace.git("checkout", "-q", "-b", f"feature-{workspace.client_name}")
    workspace.write("net/checksum.py", "def adler_checksum(data):\n    a, b = 1, 0\n    for byte in data:\n"
                    "        a = (a + byte) % 65521\n        b = (b + a) % 65521\n    return (b << 16) | a\n")
    workspace.git("add", "-A")
    workspace.git("commit", "-q", "-m", "checksum")
    await wait_for_index(client, runs + 1)
    answer = await command(client, "copilotIndex.search", {"query": "adler_checksum", "k": 3, "mode": "keyword"})
    assert answer["results"][0]["path"] == "net/checksum.py"


async def test_indexing_reports_progress(client: LanguageClient):
    if not (client.capabilities and client.capabilities.window and client.capabilities.window.work_done_progress):
        assert client.progress_reports == {}
        return
    indexing = [values for values in client.progress_reports.values()
                if values and isinstance(values[0], types.WorkDoneProgressBegin) and values[0].title == "Indexing"]
    assert indexing, client.progress_reports
    assert all(isinstance(values[-1], types.WorkDoneProgressEnd) for values in indexing)
    assert any(isinstance(v, types.WorkDoneProgressReport) for values in indexing for v in values)


async def test_a_newer_request_cancels_the_older_one(client: LanguageClient, workspace: Workspace):
    uri = workspace.uri("app/rings.py")
    await _configure(client, {"completion_debounce_ms": 300})
    try:
        before = (await command(client, "copilotIndex.status"))["completion"]
        older = client.text_document_inline_completion_async(inline_params(uri, *CURSOR))
        newer = client.text_document_inline_completion_async(inline_params(uri, CURSOR[0], CURSOR[1] - 2))
        first, second = await asyncio.gather(older, newer)
        after = (await command(client, "copilotIndex.status"))["completion"]
        assert not first.items
        assert after["superseded"] == before["superseded"] + 1
        assert after["generated"] == before["generated"] + 1

        msg_id = f"cancel-me-{workspace.client_name}"
        pending = client.protocol.send_request(
            types.TEXT_DOCUMENT_INLINE_COMPLETION, inline_params(uri, *CURSOR), msg_id=msg_id)
        await asyncio.sleep(0.05)
        client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))
        with pytest.raises(JsonRpcException) as cancelled:
            await asyncio.wrap_future(pending)
        assert cancelled.value.code == -32800
    finally:
        await _configure(client, {})


async def test_a_burst_of_requests_generates_only_the_last(client: LanguageClient, workspace: Workspace):
    uri = workspace.uri("app/rings.py")
    before = (await command(client, "copilotIndex.status"))["completion"]
    burst = [client.text_document_inline_completion_async(inline_params(uri, CURSOR[0], CURSOR[1] - n))
             for n in range(19, -1, -1)]
    answers = await asyncio.gather(*burst)
    after = (await command(client, "copilotIndex.status"))["completion"]
    generated = after["generated"] - before["generated"]
    stopped = (after["superseded"] - before["superseded"]) + (after["cancelled"] - before["cancelled"])
    assert generated + stopped == 20
    assert generated <= 3 and all(not a.items for a in answers[:-3])
    last = await command(client, "copilotIndex.suggestionSources", uri)
    assert last is not None and last["stop_reason"] != "cancelled"


async def test_status_and_refusals(client: LanguageClient, workspace: Workspace, tmp_path: Path):
    status = await command(client, "copilotIndex.status")
    assert status["root"] == str(workspace.root) and status["index"]["files"] >= 3
    assert status["adapter"] is None  # none configured, none trained
    adapter = str(tmp_path / "my-adapter")
    settings = {"copilotIndex": {"completion": {"adapter": adapter}, "lsp": {}}}
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=settings))
    assert (await command(client, "copilotIndex.status"))["adapter"] == adapter
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"copilotIndex": {}}))
    assert (await command(client, "copilotIndex.status"))["adapter"] is None
    outside = tmp_path / "elsewhere.py"
    outside.write_text("x = 1\n")
    with pytest.raises(JsonRpcException, match="outside the workspace") as refused:
        await client.text_document_inline_completion_async(inline_params(outside.as_uri(), 0, 0))
    assert refused.value.code == -32602


async def test_file_watching_is_registered_when_the_client_can(client: LanguageClient):
    watched = client.capabilities.workspace.did_change_watched_files if client.capabilities.workspace else None
    methods = [r.method for r in client.registrations]  # type: ignore[attr-defined]
    expected = [types.WORKSPACE_DID_CHANGE_WATCHED_FILES] if watched and watched.dynamic_registration else []
    assert methods == expected


async def test_unsaved_edits_of_another_buffer_ground_the_suggestion(client: LanguageClient, workspace: Workspace):
    """A function typed into another open buffer, not saved, is retrieved from the buffer (the index's
    copy of that file does not have it); once saved, the buffer is no longer read as unsaved."""
    http_uri = workspace.uri("net/http.py")
    disk = (workspace.root / "net/http.py").read_text()
    open_document(client, http_uri, disk)
    added = "\n\ndef hexagon_area(side):\n    return 2.6 * side * side\n"
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=http_uri, version=2),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=disk + added)],
    ))
    hive = "from net.http import hexagon_area\n\n\ndef honeycomb(cells, side):\n    return cells * hexagon_area("
    hive_uri = workspace.uri("app/hive.py")
    workspace.write("app/hive.py", hive)
    open_document(client, hive_uri, hive)
    column = len("    return cells * hexagon_area(")
    await client.text_document_inline_completion_async(inline_params(hive_uri, 4, column))
    last = await command(client, "copilotIndex.suggestionSources", hive_uri)
    new_lines = len(disk.split("\n")) + 1  # the added function starts past the end of the file on disk
    assert any(s["path"] == "net/http.py" and s["end_line"] >= new_lines for s in last["sources"]), last["sources"]

    client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=http_uri)))
    await command(client, "copilotIndex.status")  # handled after the notification
    await client.text_document_inline_completion_async(inline_params(hive_uri, 4, column - 1))
    again = await command(client, "copilotIndex.suggestionSources", hive_uri)
    assert not any(s["path"] == "net/http.py" and s["end_line"] >= new_lines for s in again["sources"])


async def test_an_unsure_suggestion_is_withheld_and_the_sources_say_why(client: LanguageClient, workspace: Workspace):
    uri = workspace.uri("app/rings.py")
    open_document(client, uri, RINGS)
    place = inline_params(uri, CURSOR[0], CURSOR[1] - len("- "))  # a place no other test asked for (no cache)
    strict = {"copilotIndex": {"completion": {"min_confidence": 0.999}, "lsp": {}}}
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=strict))
    try:
        await command(client, "copilotIndex.status")  # handled after the notification: the settings are in
        result = await client.text_document_inline_completion_async(place)
        assert result is None or not result.items
        last = await command(client, "copilotIndex.suggestionSources", uri)
        assert last["withheld"] is True and last["completion"] == "" and 0.0 < last["confidence"] < 0.999
    finally:
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"copilotIndex": {}}))
    await command(client, "copilotIndex.status")
    shown = await client.text_document_inline_completion_async(place)
    again = await command(client, "copilotIndex.suggestionSources", uri)
    assert again["withheld"] is False and again["confidence"] == last["confidence"]
    assert shown is not None and [item.insert_text for item in shown.items] == [again["completion"]]
