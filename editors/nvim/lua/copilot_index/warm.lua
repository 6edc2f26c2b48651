-- Pre-warming: when the cursor comes to rest on a new place in a buffer the server is attached to (a file
-- opened, a move to another line in normal or insert mode), send `copilotIndex/warm`. The server evaluates
-- the prompt there into its model's cache while you read, so the first suggestion on that line is fast.
local core = require("copilot_index")

local W = {}

W.method = "copilotIndex/warm"

-- How long the cursor must rest before the server is told (holding j down sends nothing).
W.rest_ms = 250

-- The place last sent: { bufnr, line } (line 0-based), or nil. Typing on that line sends nothing more.
local last = nil
local timer = nil
local group = nil

--- The copilot-index client attached to `bufnr` itself (core.client falls back to any buffer's).
local function attached(bufnr)
  local get = vim.lsp.get_clients or vim.lsp.get_active_clients
  return get({ name = core.name, bufnr = bufnr })[1]
end

local function at_last_place(bufnr, line)
  return last ~= nil and last.bufnr == bufnr and last.line == line
end

--- Tells the server where the cursor of the current window is, unless it is still on the line last told.
--- Returns true when the notification was sent.
function W.send_if_moved()
  local bufnr = vim.api.nvim_get_current_buf()
  local client = attached(bufnr)
  if client == nil then
    return false
  end
  local line = vim.api.nvim_win_get_cursor(0)[1] - 1
  if at_last_place(bufnr, line) then
    return false
  end
  local here = vim.lsp.util.make_position_params(0, client.offset_encoding or "utf-16")
  local params = { textDocument = { uri = here.textDocument.uri }, position = here.position }
  if not core.send_notification(client, W.method, params) then
    return false -- the client is stopping: the next rest tries again
  end
  last = { bufnr = bufnr, line = line }
  return true
end

local function stop_timer()
  if timer ~= nil then
    timer:stop()
  end
end

--- Restarts the rest period: the server is told once the cursor has stayed put for `W.rest_ms`.
local function rest_then_send()
  if timer == nil then
    timer = (vim.uv or vim.loop).new_timer()
  end
  timer:stop()
  timer:start(W.rest_ms, 0, vim.schedule_wrap(W.send_if_moved))
end

local function arrived(args)
  if attached(args.buf) == nil then
    stop_timer() -- left for a buffer the server does not see: the pending place is moot
    return
  end
  if at_last_place(args.buf, vim.api.nvim_win_get_cursor(0)[1] - 1) then
    return -- typing or moving along the line last told
  end
  rest_then_send()
end

--- A (re)started client knows nothing of earlier places: the buffer's current line counts as new again.
local function client_changed(args)
  local client = vim.lsp.get_client_by_id(args.data and args.data.client_id or -1)
  if client == nil or client.name ~= core.name then
    return
  end
  if last ~= nil and last.bufnr == args.buf then
    last = nil
  end
  if args.event == "LspAttach" and args.buf == vim.api.nvim_get_current_buf() then
    rest_then_send()
  end
end

function W.enable()
  group = vim.api.nvim_create_augroup("copilot_index_warm", { clear = true })
  vim.api.nvim_create_autocmd({ "BufEnter", "CursorMoved", "CursorMovedI" }, { group = group, callback = arrived })
  vim.api.nvim_create_autocmd({ "LspAttach", "LspDetach" }, { group = group, callback = client_changed })
end

function W.disable()
  if group ~= nil then
    vim.api.nvim_del_augroup_by_id(group)
    group = nil
  end
  if timer ~= nil then
    timer:stop()
    timer:close()
    timer = nil
  end
  last = nil
end

return W
