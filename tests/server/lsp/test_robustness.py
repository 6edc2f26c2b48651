"""Bad input over a real connection: the server answers per the specification and stays alive."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import pytest_lsp
from lsp_support import (
    RINGS,
    SERVER_COMMAND,
    Workspace,
    accept_registrations,
    command,
    initialize_params,
    inline_params,
    make_workspace,
    open_document,
)
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import ClientServerConfig, LanguageClient

pytestmark = pytest.mark.asyncio(loop_scope="module")

BAD_SETTING = {"max_tokens": "lots"}


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER_COMMAND), scope="module")
async def client(lsp_client: LanguageClient, request: pytest.FixtureRequest, tiny_model_dir: Path):  # type: ignore[no-untyped-def]
    workspace = make_workspace("visual_studio_code", request.getfixturevalue("tmp_path_factory").mktemp("r") / "repo")
    options = {"completion": {"model": str(tiny_model_dir), **BAD_SETTING}, "lsp": {"index_on_start": False}}
    lsp_client.workspace_under_test = workspace  # type: ignore[attr-defined]
    lsp_client.model_under_test = tiny_model_dir  # type: ignore[attr-defined]
    lsp_client.registrations = accept_registrations(lsp_client)  # type: ignore[attr-defined]
    await lsp_client.initialize_session(initialize_params("visual_studio_code", workspace.root, options))
    yield
    await lsp_client.shutdown_session()


@pytest.fixture(scope="module")
def workspace(client: LanguageClient) -> Workspace:
    return client.workspace_under_test  # type: ignore[attr-defined,no-any-return]


async def _alive(client: LanguageClient, workspace: Workspace) -> types.InlineCompletionList:
    """A normal completion still works."""
    uri = workspace.uri("app/rings.py")
    open_document(client, uri, RINGS)
    result = await client.text_document_inline_completion_async(inline_params(uri, 4, 32))
    assert isinstance(result, types.InlineCompletionList)
    return result


async def test_a_bad_setting_falls_back_and_is_told_once(client: LanguageClient, workspace: Workspace):
    await _alive(client, workspace)
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"copilotIndex": {"completion": {**BAD_SETTING}}}))
    await command(client, "copilotIndex.status")
    told = [m for m in client.messages if "completion.max_tokens" in m.message]
    assert len(told) == 1 and "using the default 32" in told[0].message
    assert told[0].type == types.MessageType.Warning


async def test_positions_past_the_end_get_an_error_response(client: LanguageClient, workspace: Workspace):
    uri = workspace.uri("app/rings.py")
    open_document(client, uri, RINGS)
    for line, character in ((99, 0), (4, 500)):
        with pytest.raises(JsonRpcException, match="is outside (the document|line)") as error:
            await client.text_document_inline_completion_async(inline_params(uri, line, character))
        assert error.value.code == -32602
    await _alive(client, workspace)


async def test_out_of_range_edits_are_clamped(client: LanguageClient, workspace: Workspace):
    uri = workspace.uri("app/edited.py")
    open_document(client, uri, "x = 1\n")
    far = types.Range(types.Position(50, 3), types.Position(80, 9))
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[types.TextDocumentContentChangePartial(range=far, text="y = 2\n")]))
    result = await client.text_document_inline_completion_async(inline_params(uri, 1, 0))
    assert isinstance(result, types.InlineCompletionList)
    await _alive(client, workspace)


async def test_a_ten_megabyte_document(client: LanguageClient, workspace: Workspace):
    uri = workspace.uri("big/generated.py")
    line = "value_%07d = compute(%d)  # padding to make the line longer\n"
    text = "".join(line % (i, i) for i in range(10_000_000 // len(line % (0, 0))))
    assert len(text) >= 9_900_000
    open_document(client, uri, text)
    lines = text.count("\n")
    result = await client.text_document_inline_completion_async(inline_params(uri, lines, 0))
    assert not result.items  # larger than lsp.max_document_bytes: no completion, and no stall
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[types.TextDocumentContentChangePartial(
            range=types.Range(types.Position(lines, 0), types.Position(lines, 0)), text="tail = 1\n")]))
    client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri=uri)))
    await _alive(client, workspace)


async def test_a_document_that_vanished_from_disk(client: LanguageClient, workspace: Workspace):
    path = workspace.write("app/temporary.py", "def soon_gone():\n    return 1\n")
    uri = workspace.uri("app/temporary.py")
    path.unlink()
    with pytest.raises(JsonRpcException, match="no longer exists on disk") as error:
        await client.text_document_inline_completion_async(inline_params(uri, 1, 4))
    assert error.value.code == -32602
    await _alive(client, workspace)


async def test_uris_outside_the_workspace_are_refused(client: LanguageClient, workspace: Workspace):
    for uri in ("file:///etc/passwd", "untitled:Untitled-1", workspace.uri("../outside.py")):
        with pytest.raises(JsonRpcException) as error:
            await client.text_document_inline_completion_async(inline_params(uri, 0, 0))
        assert error.value.code == -32602
    with pytest.raises(JsonRpcException, match="outside the workspace"):
        await command(client, "copilotIndex.suggestionSources", "file:///etc/passwd")


async def test_a_crash_inside_a_feature_leaves_the_server_alive(client: LanguageClient, workspace: Workspace,
                                                                tmp_path: Path):
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "config.json").write_text("{ this is not json")
    settings = {"copilotIndex": {"completion": {"model": str(broken)}}}
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=settings))
    uri = workspace.uri("app/rings.py")
    open_document(client, uri, RINGS)
    result = await client.text_document_inline_completion_async(inline_params(uri, 4, 32))
    assert not result.items
    assert any("Completion failed" in m.message for m in client.messages)
    status = await command(client, "copilotIndex.status")
    assert status["completion"]["failed"] >= 1
    model = str(client.model_under_test)  # type: ignore[attr-defined]
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"copilotIndex": {"completion": {"model": model}}}))
    await _alive(client, workspace)


async def test_commands_without_an_index_or_with_bad_arguments(client: LanguageClient):
    with pytest.raises(JsonRpcException, match="no index") as error:
        await command(client, "copilotIndex.search", "circle area")
    assert error.value.code == -32803
    with pytest.raises(JsonRpcException) as error:
        await command(client, "copilotIndex.search", {"query": 3})
    assert error.value.code == -32602
    with pytest.raises(JsonRpcException):
        await command(client, "copilotIndex.noSuchCommand")
    status = await command(client, "copilotIndex.status")
    assert status["index"] is None and status["indexing"]["runs"] == 0


async def test_adapter_training_reports_progress_and_can_be_cancelled(client: LanguageClient):
    known = set(client.progress_reports)
    training = asyncio.ensure_future(command(client, "copilotIndex.trainAdapter"))
    token = None
    for _ in range(600):
        token = next((t for t, values in client.progress_reports.items() if t not in known and values
                      and getattr(values[0], "title", "") == "Training the adapter"), None)
        if token is not None:
            break
        await asyncio.sleep(0.1)
    assert token is not None, "no progress began"
    assert client.progress_reports[token][0].cancellable
    client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
    report = await asyncio.wait_for(training, 300)
    assert report["training"]["stopped"] == "cancelled" and report["promoted"] is False
    assert isinstance(client.progress_reports[token][-1], types.WorkDoneProgressEnd)
    assert client.progress_reports[token][-1].message == "cancelled"


async def test_logs_reach_the_client(client: LanguageClient):
    assert any("copilot_index" in m.message for m in client.log_messages)


async def test_workspace_folders_can_come_and_go(client: LanguageClient, tmp_path: Path):
    other = make_workspace("visual_studio_code", tmp_path / "other")
    folder = types.WorkspaceFolder(uri=other.uri(""), name="other")
    client.workspace_did_change_workspace_folders(types.DidChangeWorkspaceFoldersParams(
        event=types.WorkspaceFoldersChangeEvent(added=[folder], removed=[])))
    status = await command(client, "copilotIndex.status", {"folder": other.uri("")})
    assert status["root"] == str(other.root)
    await _alive(client, other)
    client.workspace_did_change_workspace_folders(types.DidChangeWorkspaceFoldersParams(
        event=types.WorkspaceFoldersChangeEvent(added=[], removed=[folder])))
    with pytest.raises(JsonRpcException, match="outside the workspace"):
        await command(client, "copilotIndex.status", {"folder": other.uri("")})


async def test_each_folder_gets_its_own_settings(client: LanguageClient, tmp_path: Path):
    """`workspace/configuration` is asked per folder (scopeUri); a folder's answer overrides the global one."""
    other = make_workspace("visual_studio_code", tmp_path / "scoped")
    model = str(client.model_under_test)  # type: ignore[attr-defined]
    client.set_configuration({"completion": {"model": model}}, section="copilotIndex")
    client.set_configuration({"completion": {"model": "folder-only-model", "max_tokens": 7},
                              "lsp": {"inline_completion": False}}, section="copilotIndex", scope_uri=other.uri(""))
    folder = types.WorkspaceFolder(uri=other.uri(""), name="scoped")
    client.workspace_did_change_workspace_folders(types.DidChangeWorkspaceFoldersParams(
        event=types.WorkspaceFoldersChangeEvent(added=[folder], removed=[])))
    try:
        for _ in range(100):  # the server asks for the new folder's settings after adding it
            scoped = await command(client, "copilotIndex.status", {"folder": other.uri("")})
            if scoped["model"] != model:
                break
            await asyncio.sleep(0.05)
        assert scoped["model"] == "folder-only-model"
        first = await command(client, "copilotIndex.status")
        assert first["root"] != str(other.root) and first["model"] == model
        # That folder switched inline completion off: its documents get no suggestion and no generation.
        uri = other.uri("app/rings.py")
        open_document(client, uri, RINGS)
        answer = await client.text_document_inline_completion_async(inline_params(uri, 4, 32))
        assert answer is not None and not answer.items
        assert (await command(client, "copilotIndex.status", {"folder": other.uri("")}))["completion"]["requests"] == \
            scoped["completion"]["requests"]
    finally:
        client.workspace_did_change_workspace_folders(types.DidChangeWorkspaceFoldersParams(
            event=types.WorkspaceFoldersChangeEvent(added=[], removed=[folder])))
        client.set_configuration({}, section="copilotIndex")
        client.set_configuration(None, section="copilotIndex", scope_uri=other.uri(""))
