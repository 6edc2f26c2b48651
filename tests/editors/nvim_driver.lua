-- Drives a headless Neovim through the plugin as a user would: open a file, move the cursor, search, type
-- in insert mode, accept the ghost text, run :checkhealth. Steps poll on timers so typed keys and LSP answers
-- are processed by the main loop between them. Results go to $NVIM_TEST_OUT as JSON.
local plugin_dir, repo, out = vim.env.NVIM_TEST_PLUGIN, vim.env.NVIM_TEST_REPO, vim.env.NVIM_TEST_OUT
vim.opt.runtimepath:prepend(plugin_dir)
vim.opt.swapfile = false
vim.opt.shadafile = "NONE"

-- The user trusts the repository's settings file, as `vim.secure.read` would record it after asking.
local settings_buf = vim.fn.bufadd(repo .. "/.copilot-index.toml")
vim.fn.bufload(settings_buf)
assert(vim.secure.trust({ action = "allow", bufnr = settings_buf }))
vim.api.nvim_buf_delete(settings_buf, { force = true })

local core = require("copilot_index")
core.setup({ cmd = { "copilot-lsp" }, debounce_ms = 150, use_builtin = false })
local ghost = require("copilot_index.ghost")

local results = { steps = {}, nvim = tostring(vim.version()), warms = {}, lsp_log = vim.lsp.get_log_path() }
local current_step = nil

-- Every copilotIndex/warm notification the client wrote to the server, in order: where, in which mode and step.
vim.api.nvim_create_autocmd("LspNotify", {
  callback = function(args)
    if args.data.method ~= "copilotIndex/warm" then
      return
    end
    local document, position = args.data.params.textDocument or {}, args.data.params.position or {}
    table.insert(results.warms, { step = current_step or "", file = document.uri and vim.uri_to_fname(document.uri),
                                  line = position.line, character = position.character,
                                  mode = vim.api.nvim_get_mode().mode })
  end,
})

--- The warm notifications sent during the running step.
local function warms_in_step()
  return vim.tbl_filter(function(warm) return warm.step == current_step end, results.warms)
end

local function finish()
  results.messages = vim.api.nvim_exec2("messages", { output = true }).output
  results.tab_map = vim.fn.maparg("<Tab>", "i")
  local file = assert(io.open(out, "w"))
  file:write(vim.json.encode(results))
  file:close()
  vim.cmd("qall!")
end

local function keys(str)
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes(str, true, false, true), "t", false)
end

local PARTIAL = "    return circle_area(outer) -"

local steps = {
  {
    name = "attach",
    run = function() vim.cmd("edit " .. vim.fn.fnameescape(repo .. "/rings.py")) end,
    done = function() return core.client(vim.api.nvim_get_current_buf()) ~= nil end,
    timeout = 30000,
  },
  {
    name = "indexed",
    interval = 300,
    -- The first index with an empty cache exports the embedder to ONNX: over a minute on a busy 2-core machine.
    timeout = 180000,
    done = function()
      local status = core.execute_sync("copilotIndex.status", {}, 5000)
      results.status = status
      return status ~= nil and status.indexing.runs >= 1 and not status.indexing.running
    end,
  },
  {
    name = "warm_normal",
    timeout = 5000,
    run = function() keys("4G") end, -- `def ring_area(outer, inner):`, 0-based line 3
    done = function() return #warms_in_step() > 0 end,
  },
  {
    name = "warm_same_line",
    run = function()
      results.same_line_started = vim.uv.now()
      keys("$0w") -- moves along the line just told: nothing is sent
    end,
    done = function() return vim.uv.now() - results.same_line_started > 1000 end,
  },
  {
    name = "warm_insert",
    timeout = 5000,
    run = function() keys("i<Down>") end,
    done = function() return #warms_in_step() > 0 end,
    after = function() keys("<Esc>") end,
  },
  {
    name = "search",
    run = function() vim.cmd("CopilotIndexSearch circle area radius") end,
    done = function() return #vim.fn.getqflist() > 0 end,
    after = function()
      results.quickfix = {}
      for _, item in ipairs(vim.fn.getqflist()) do
        table.insert(results.quickfix, { file = vim.api.nvim_buf_get_name(item.bufnr), lnum = item.lnum,
                                         text = item.text })
      end
      results.quickfix_window = vim.fn.getqflist({ winid = 0 }).winid ~= 0
      vim.cmd("cclose")
      vim.cmd("edit " .. vim.fn.fnameescape(repo .. "/rings.py"))
    end,
  },
  {
    name = "ghost",
    timeout = 30000,
    run = function()
      local last = vim.api.nvim_buf_line_count(0)
      vim.api.nvim_buf_set_lines(0, last - 1, last, false, { PARTIAL })
      vim.api.nvim_win_set_cursor(0, { last, #PARTIAL - 1 })
      keys("A ") -- append, then type a space: a pause in insert-mode typing
    end,
    done = function()
      local marks = vim.api.nvim_buf_get_extmarks(0, ghost.ns, 0, -1, { details = true })
      for _, mark in ipairs(marks) do
        local details = mark[4]
        if details.virt_text then
          local shown = {}
          for _, chunk in ipairs(details.virt_text) do
            table.insert(shown, chunk[1])
          end
          results.ghost = { row = mark[2], col = mark[3], text = table.concat(shown),
                            pos = details.virt_text_pos, mode = vim.api.nvim_get_mode().mode,
                            suggestion = ghost.current and ghost.current.text }
          return true
        end
      end
      return false
    end,
    after = function()
      results.before_accept = vim.api.nvim_get_current_line()
      keys("<Tab>")
    end,
  },
  {
    name = "accept",
    timeout = 5000,
    done = function() return vim.api.nvim_get_current_line() ~= results.before_accept end,
    after = function()
      results.after_accept = vim.api.nvim_get_current_line()
      results.ghost_after_accept = #vim.api.nvim_buf_get_extmarks(0, ghost.ns, 0, -1, {})
      keys("<Esc>")
    end,
  },
  {
    name = "word",
    timeout = 30000,
    run = function()
      local last = vim.api.nvim_buf_line_count(0)
      vim.api.nvim_buf_set_lines(0, last - 1, last, false, { PARTIAL })
      vim.api.nvim_win_set_cursor(0, { last, #PARTIAL - 1 })
      keys("A ")
    end,
    done = function() return ghost.current ~= nil end,
    after = function()
      results.word_suggestion = ghost.current.text
      keys("<M-Right>")
    end,
  },
  {
    name = "word_accepted",
    timeout = 5000,
    done = function() return vim.api.nvim_get_current_line() ~= PARTIAL .. " " end,
    after = function()
      results.after_word = vim.api.nvim_get_current_line()
      results.rest_after_word = ghost.current and ghost.current.text
      keys("<Esc>")
    end,
  },
  {
    name = "sources",
    timeout = 10000,
    run = function()
      vim.fn.setqflist({}, "r", { title = "", items = {} })
      vim.cmd("CopilotIndexSources")
    end,
    done = function() return vim.fn.getqflist({ title = 0 }).title == "copilot-index: suggestion sources" end,
    after = function()
      results.sources = {}
      for _, item in ipairs(vim.fn.getqflist()) do
        table.insert(results.sources, vim.api.nvim_buf_get_name(item.bufnr))
      end
    end,
  },
  {
    name = "tab_without_suggestion",
    timeout = 5000,
    run = function()
      vim.api.nvim_buf_set_lines(0, 0, 1, false, { "x" })
      vim.api.nvim_win_set_cursor(0, { 1, 0 })
      keys("A<Tab><Esc>") -- no pause: nothing is shown, so Tab is an ordinary Tab
    end,
    done = function()
      return vim.api.nvim_get_mode().mode == "n" and vim.api.nvim_buf_get_lines(0, 0, 1, false)[1] ~= "x"
    end,
    after = function() results.tab_line = vim.api.nvim_buf_get_lines(0, 0, 1, false)[1] end,
  },
  {
    name = "health",
    run = function()
      vim.cmd("checkhealth copilot_index")
      results.health = vim.api.nvim_buf_get_lines(0, 0, -1, false)
    end,
  },
}

local index = 0
local function next_step()
  index = index + 1
  local step = steps[index]
  current_step = step and step.name
  if step == nil then
    return finish()
  end
  local started = vim.uv.now()
  local ok, err = pcall(step.run or function() end)
  if not ok then
    results.steps[step.name] = "error: " .. tostring(err)
    return finish()
  end
  local function poll()
    local polled, done = pcall(step.done or function() return true end)
    if not polled then
      results.steps[step.name] = "error: " .. tostring(done)
      return finish()
    end
    if done then
      results.steps[step.name] = "ok"
      local after_ok, after_err = pcall(step.after or function() end)
      if not after_ok then
        results.steps[step.name] = "error: " .. tostring(after_err)
        return finish()
      end
      return vim.defer_fn(next_step, 50)
    end
    if vim.uv.now() - started > (step.timeout or 10000) then
      results.steps[step.name] = "timeout"
      return finish()
    end
    vim.defer_fn(poll, step.interval or 100)
  end
  vim.defer_fn(poll, step.interval or 100)
end

vim.defer_fn(next_step, 0)
