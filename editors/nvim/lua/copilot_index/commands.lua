-- The user commands: each one is a `workspace/executeCommand` request to the language server.
local core = require("copilot_index")

local C = {}

local function failed(what, err)
  core.notify(what .. " failed: " .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
end

--- Search results (repository-relative paths, 1-based lines) as quickfix items.
function C.quickfix_items(root, results)
  local items = {}
  for _, r in ipairs(results or {}) do
    local text = r.symbol
    if text == nil or text == vim.NIL or text == "" then
      text = (type(r.text) == "string" and r.text:match("^%s*([^\n]*)")) or r.path
    end
    items[#items + 1] = {
      filename = root .. "/" .. r.path,
      lnum = r.start_line,
      end_lnum = r.end_line,
      text = string.format("%s [%s %.3f]", text, r.kind ~= vim.NIL and r.kind or "", r.score or 0),
    }
  end
  return items
end

function C.search(query)
  local root = core.root()
  core.execute("copilotIndex.search", { { query = query, k = core.config.search_k } }, function(err, result)
    if err then
      return failed("search", err)
    end
    local items = C.quickfix_items(root or result.root or vim.fn.getcwd(), result.results)
    vim.fn.setqflist({}, " ", { title = "copilot-index: " .. query, items = items })
    if #items == 0 then
      core.notify("no results for " .. query, vim.log.levels.WARN)
      return
    end
    vim.cmd("copen")
  end)
end

function C.reindex(rebuild)
  core.notify(rebuild and "rebuilding the index…" or "reindexing…")
  core.execute("copilotIndex.reindex", { { rebuild = rebuild or false } }, function(err, summary)
    if err then
      return failed("reindex", err)
    end
    core.notify(string.format("indexed: %d files scanned, %d changed, %d chunks embedded, %d reused (%.1fs)",
      summary.files_scanned or 0, summary.files_changed or 0, summary.chunks_embedded or 0,
      summary.chunks_reused or 0, summary.seconds or 0))
  end)
end

--- Status as readable lines (also used by the health check).
function C.status_lines(status)
  local lines = { "root: " .. tostring(status.root), "data dir: " .. tostring(status.data_dir) }
  local indexing = status.indexing or {}
  if indexing.running then
    lines[#lines + 1] = "indexing: running"
  end
  if indexing.error and indexing.error ~= vim.NIL then
    lines[#lines + 1] = "indexing error: " .. tostring(indexing.error)
  end
  if status.index and status.index ~= vim.NIL then
    for key, value in pairs(status.index) do
      if type(value) ~= "table" then
        lines[#lines + 1] = string.format("index %s: %s", key, tostring(value))
      end
    end
  else
    lines[#lines + 1] = "index: none yet"
  end
  lines[#lines + 1] = "model: " .. tostring(status.model)
  return lines
end

function C.status()
  core.execute("copilotIndex.status", {}, function(err, status)
    if err then
      return failed("status", err)
    end
    core.notify(table.concat(C.status_lines(status), "\n"))
  end)
end

function C.sources()
  local uri = vim.uri_from_bufnr(vim.api.nvim_get_current_buf())
  core.execute("copilotIndex.suggestionSources", { uri }, function(err, last)
    if err then
      return failed("sources", err)
    end
    if last == nil or last == vim.NIL then
      return core.notify("no suggestion for this buffer yet")
    end
    local lines = { "suggestion: " .. vim.inspect(last.completion) }
    if type(last.confidence) == "number" then
      lines[#lines + 1] = string.format("confidence %.2f%s", last.confidence,
                                        last.withheld and " (withheld: below completion.min_confidence)" or "")
    end
    local root = core.root() or ""
    local items = {}
    for _, s in ipairs(last.sources or {}) do
      lines[#lines + 1] = string.format("  %s:%d-%d", s.path, s.start_line, s.end_line)
      items[#items + 1] = { filename = root .. "/" .. s.path, lnum = s.start_line, end_lnum = s.end_line,
                            text = "source of the suggestion" }
    end
    if #items == 0 then
      lines[#lines + 1] = "  (no retrieved sources)"
    end
    for _, g in ipairs(last.guard or {}) do
      lines[#lines + 1] = string.format("guard %s: %s (%s)", g.guard, g.action, g.reason)
    end
    vim.fn.setqflist({}, " ", { title = "copilot-index: suggestion sources", items = items })
    core.notify(table.concat(lines, "\n"))
  end)
end

return C
