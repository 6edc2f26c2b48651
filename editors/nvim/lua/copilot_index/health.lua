-- `:checkhealth copilot_index`: the server executable, the client, the index and the model.
local H = {}

local health = vim.health or require("health")
local start = health.start or health.report_start
local ok = health.ok or health.report_ok
local warn = health.warn or health.report_warn
local error = health.error or health.report_error
local info = health.info or health.report_info

function H.check()
  local core = require("copilot_index")
  start("copilot-index")
  if not core.did_setup then
    warn("setup() has not run: add require(\"copilot_index\").setup({}) to your config")
  end
  local cmd = core.config.cmd
  local exe = cmd[1]
  if vim.fn.executable(exe) == 1 then
    ok("server executable found: " .. vim.fn.exepath(exe))
  else
    error("server executable not found: " .. exe,
      { "pip install copilot-index into an environment on PATH", "or set setup({cmd = {\"/path/to/copilot-lsp\"}})" })
    return
  end

  local client = core.client(vim.api.nvim_get_current_buf())
  if client == nil then
    warn("the language server is not attached to this buffer",
      { "open a file inside a git repository", "see :LspInfo / :checkhealth vim.lsp and the server log" })
    return
  end
  ok(string.format("client attached (id %d, root %s)", client.id, tostring(core.root(client))))

  local status, err = core.execute_sync("copilotIndex.status", {}, 15000)
  if status == nil then
    error("copilotIndex.status failed: " .. tostring(err and err.message or err))
    return
  end
  local indexing = status.indexing or {}
  if indexing.error and indexing.error ~= vim.NIL then
    error("indexing failed: " .. tostring(indexing.error), { "run :CopilotIndexReindex after fixing it" })
  end
  if status.index ~= nil and status.index ~= vim.NIL then
    ok("index present in " .. tostring(status.data_dir))
  elseif indexing.running then
    warn("the index is still building; search and retrieval work once it finishes")
  else
    warn("no index yet", { "run :CopilotIndexReindex" })
  end
  if status.index_problem and status.index_problem ~= vim.NIL then
    error("index problem: " .. tostring(status.index_problem))
  end
  local model = status.model
  local stats = status.completion or {}
  if model == nil or model == vim.NIL or model == "" then
    warn("no completion model configured", { "set [completion] model in .copilot-index.toml" })
  elseif (stats.generated or 0) > 0 then
    ok("model loaded and generating: " .. tostring(model))
  elseif (stats.failed or 0) > 0 then
    error("completions failed with model " .. tostring(model), { "check the path in [completion] model" })
  else
    ok("model configured: " .. tostring(model) .. " (loads on the first completion)")
  end
  info(string.format("completions: %d requests, %d generated, %d blocked by guards",
    stats.requests or 0, stats.generated or 0, stats.blocked or 0))
end

return H
