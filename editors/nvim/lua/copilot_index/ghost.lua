-- Ghost text: after a pause in insert-mode typing, ask the server for `textDocument/inlineCompletion`
-- and show the first item as virtual text; further typing clears it, keys accept all, a word or a line.
local core = require("copilot_index")

local G = {}

G.ns = vim.api.nvim_create_namespace("copilot_index")

-- The suggestion shown now: { bufnr, row, col, text, tick } (row/col 0-based), or nil.
G.current = nil

local timer = nil
local generation = 0 -- bumps on every change, so late answers for old text are dropped
local keep_next_change = false -- a partial accept re-shows the rest; its own edit must not clear it

local function stop_timer()
  if timer then
    timer:stop()
    timer:close()
    timer = nil
  end
end

function G.clear(bufnr)
  if G.current and vim.api.nvim_buf_is_valid(G.current.bufnr) then
    vim.api.nvim_buf_clear_namespace(G.current.bufnr, G.ns, 0, -1)
  end
  if bufnr and vim.api.nvim_buf_is_valid(bufnr) then
    vim.api.nvim_buf_clear_namespace(bufnr, G.ns, 0, -1)
  end
  G.current = nil
end

function G.visible()
  return G.current ~= nil
end

local function render(bufnr, row, col, text)
  vim.api.nvim_buf_clear_namespace(bufnr, G.ns, 0, -1)
  local lines = vim.split(text, "\n", { plain = true })
  local hl = "CopilotIndexSuggestion"
  local opts = {
    virt_text = { { lines[1], hl } },
    virt_text_pos = vim.fn.has("nvim-0.10") == 1 and "inline" or "overlay",
    hl_mode = "combine",
  }
  if #lines > 1 then
    local rest = {}
    for i = 2, #lines do
      rest[#rest + 1] = { { lines[i], hl } }
    end
    opts.virt_lines = rest
  end
  vim.api.nvim_buf_set_extmark(bufnr, G.ns, row, col, opts)
  G.current = { bufnr = bufnr, row = row, col = col, text = text,
                tick = vim.api.nvim_buf_get_changedtick(bufnr) }
end

--- The text to insert at the cursor for one item: its range may start before the cursor.
local function insert_text(item, row, col, bufnr)
  local text = item.insertText
  if type(text) == "table" then
    text = text.value -- a snippet string: shown and inserted as plain text
  end
  if type(text) ~= "string" then
    return nil
  end
  local range = item.range
  if range and range.start.line == row and range.start.character < col then
    local line = vim.api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ""
    local typed = line:sub(range.start.character + 1, col)
    if text:sub(1, #typed) ~= typed then
      return nil
    end
    text = text:sub(#typed + 1)
  end
  return text
end

function G.request()
  stop_timer()
  local bufnr = vim.api.nvim_get_current_buf()
  local client = core.client(bufnr)
  if client == nil or not vim.api.nvim_get_mode().mode:match("^i") then
    return
  end
  generation = generation + 1
  local mine = generation
  local tick = vim.api.nvim_buf_get_changedtick(bufnr)
  local cursor = vim.api.nvim_win_get_cursor(0)
  local row, col = cursor[1] - 1, cursor[2]
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding or "utf-16")
  params.context = { triggerKind = 2 } -- Automatic
  core.request(client, "textDocument/inlineCompletion", params, function(err, result)
    if err or result == nil or mine ~= generation then
      return
    end
    if not vim.api.nvim_buf_is_valid(bufnr) or vim.api.nvim_get_current_buf() ~= bufnr
        or vim.api.nvim_buf_get_changedtick(bufnr) ~= tick
        or not vim.api.nvim_get_mode().mode:match("^i") then
      return
    end
    local items = result.items or result
    local item = items and items[1]
    if item == nil then
      return
    end
    local text = insert_text(item, row, col, bufnr)
    if text and text ~= "" then
      render(bufnr, row, col, text)
    end
  end, bufnr)
end

local function schedule(config)
  stop_timer()
  timer = vim.uv and vim.uv.new_timer() or vim.loop.new_timer()
  timer:start(config.debounce_ms, 0, vim.schedule_wrap(function()
    G.request()
  end))
end

--- Inserts `text` at the suggestion's position and moves the cursor past it.
local function insert(cur, text)
  local lines = vim.split(text, "\n", { plain = true })
  vim.api.nvim_buf_set_text(cur.bufnr, cur.row, cur.col, cur.row, cur.col, lines)
  local end_row = cur.row + #lines - 1
  local end_col = (#lines == 1 and cur.col or 0) + #lines[#lines]
  vim.api.nvim_win_set_cursor(0, { end_row + 1, end_col })
  return end_row, end_col
end

--- Accepts the whole suggestion, or the part `pick` chooses; shows what is left. True when accepted.
function G.accept(pick)
  local cur = G.current
  if cur == nil or cur.bufnr ~= vim.api.nvim_get_current_buf() then
    return false
  end
  local part = pick and pick(cur.text) or cur.text
  if part == nil or part == "" then
    part = cur.text
  end
  local rest = cur.text:sub(#part + 1)
  generation = generation + 1
  G.clear(cur.bufnr)
  local row, col = insert(cur, part)
  if rest ~= "" then
    keep_next_change = true
    render(cur.bufnr, row, col, rest)
  end
  return true
end

function G.next_word(text)
  return text:match("^%s*[%w_]+") or text:match("^%s*[^%w_%s]+") or text:match("^%s+")
end

function G.next_line(text)
  local first, newline = text:match("^([^\n]*)(\n?)")
  if first == "" and newline ~= "" then
    return "\n" .. (text:sub(2):match("^[^\n]*"))
  end
  return first
end

local function map_accept(lhs, action)
  vim.keymap.set("i", lhs, function()
    if not action() then
      vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes(lhs, true, false, true), "ni", false)
    end
  end, { desc = "copilot-index: accept the suggestion", silent = true })
end

local function builtin(config)
  vim.lsp.inline_completion.enable(true)
  local keys = config.keys
  if keys.accept then
    vim.keymap.set("i", keys.accept, function()
      if not vim.lsp.inline_completion.get() then
        return keys.accept
      end
    end, { expr = true, replace_keycodes = true, desc = "copilot-index: accept the suggestion" })
  end
end

function G.enable(config)
  if config.use_builtin and vim.lsp.inline_completion and vim.lsp.inline_completion.enable then
    builtin(config)
    return
  end
  local group = vim.api.nvim_create_augroup("copilot_index_ghost", { clear = true })
  vim.api.nvim_create_autocmd({ "InsertEnter", "TextChangedI", "TextChangedP" }, {
    group = group,
    callback = function(args)
      if keep_next_change then
        keep_next_change = false
        return
      end
      generation = generation + 1
      G.clear(args.buf)
      if core.client(args.buf) ~= nil then
        schedule(config)
      end
    end,
  })
  vim.api.nvim_create_autocmd({ "InsertLeave", "BufLeave" }, {
    group = group,
    callback = function(args)
      generation = generation + 1
      stop_timer()
      G.clear(args.buf)
    end,
  })
  local keys = config.keys
  if keys.accept then
    map_accept(keys.accept, function() return G.accept() end)
  end
  if keys.accept_word then
    map_accept(keys.accept_word, function() return G.accept(G.next_word) end)
  end
  if keys.accept_line then
    map_accept(keys.accept_line, function() return G.accept(G.next_line) end)
  end
  if keys.dismiss then
    map_accept(keys.dismiss, function()
      if not G.visible() then
        return false
      end
      generation = generation + 1
      G.clear(vim.api.nvim_get_current_buf())
      return true
    end)
  end
end

return G
