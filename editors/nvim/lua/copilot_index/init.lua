-- copilot-index for Neovim: registers the `copilot-lsp` language server, shows its inline
-- completions as ghost text and exposes search, reindex, status and sources as commands.
local M = {}

M.name = "copilot_index"

local defaults = {
  -- The language server command; `copilot-lsp` must be on PATH, or give an absolute path.
  cmd = { "copilot-lsp" },
  -- Filetypes to attach to; nil attaches to every file inside a git repository.
  filetypes = nil,
  -- Sent as initializationOptions: the same tables as `.copilot-index.toml` (lsp, completion, index).
  init_options = {},
  -- Markers that find the project root (the git root by default).
  root_markers = { ".git" },
  -- Ghost text: show inline completions while typing in insert mode.
  ghost_text = true,
  debounce_ms = 150,
  -- Insert-mode keys; false disables a key. `accept` falls back to its own key when nothing is shown.
  keys = {
    accept = "<Tab>",
    accept_word = "<M-Right>",
    accept_line = "<M-Down>",
    dismiss = "<C-]>",
  },
  -- Use Neovim's own `vim.lsp.inline_completion` when it exists (0.12+).
  use_builtin = true,
  -- Pre-warming: when the cursor rests on a new line of an attached buffer (a file opened, a move in normal
  -- or insert mode), send `copilotIndex/warm`, so the server fills its model's cache there before you type.
  warm = true,
  -- Number of results `:CopilotIndexSearch` asks for.
  search_k = 20,
  -- A repository's own `.copilot-index.toml` may choose the model, adapter, endpoint and guards only once you
  -- trust it. "ask": Neovim's `vim.secure.read` asks you, once per version of the file; "never": it never may
  -- (`copilot-index trust PATH` still can).
  trust = "ask",
}

M.config = vim.deepcopy(defaults)

local function has(version)
  return vim.fn.has("nvim-" .. version) == 1
end

--- The attached copilot-index client for a buffer (or any, when bufnr is nil).
function M.client(bufnr)
  local get = vim.lsp.get_clients or vim.lsp.get_active_clients
  local clients = get({ name = M.name, bufnr = bufnr })
  if #clients == 0 and bufnr ~= nil then
    clients = get({ name = M.name })
  end
  return clients[1]
end

local function request(client, method, params, handler, bufnr)
  if has("0.11") then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

local function request_sync(client, method, params, timeout_ms, bufnr)
  if has("0.11") then
    return client:request_sync(method, params, timeout_ms, bufnr)
  end
  return client.request_sync(method, params, timeout_ms, bufnr)
end

--- Sends a notification (nothing comes back); true when the client wrote it to the server.
local function send_notification(client, method, params)
  if has("0.11") then
    return client:notify(method, params)
  end
  return client.notify(method, params)
end

M.request = request
M.send_notification = send_notification

--- The project root the server works in.
function M.root(client)
  client = client or M.client(vim.api.nvim_get_current_buf())
  if client == nil then
    return nil
  end
  local root = client.root_dir or (client.config and client.config.root_dir)
  if root == nil and client.workspace_folders and client.workspace_folders[1] then
    root = vim.uri_to_fname(client.workspace_folders[1].uri)
  end
  return root
end

local function notify(message, level)
  vim.notify("copilot-index: " .. message, level or vim.log.levels.INFO)
end
M.notify = notify

--- Runs a `workspace/executeCommand` command; callback(err, result).
function M.execute(command, arguments, callback)
  local bufnr = vim.api.nvim_get_current_buf()
  local client = M.client(bufnr)
  if client == nil then
    callback({ message = "the language server is not attached to this buffer" }, nil)
    return
  end
  request(client, "workspace/executeCommand", { command = command, arguments = arguments or {} },
    function(err, result)
      callback(err, result)
    end, bufnr)
end

--- The same, waiting for the answer: returns result, err.
function M.execute_sync(command, arguments, timeout_ms)
  local bufnr = vim.api.nvim_get_current_buf()
  local client = M.client(bufnr)
  if client == nil then
    return nil, { message = "the language server is not attached to this buffer" }
  end
  local answer, err = request_sync(client, "workspace/executeCommand",
    { command = command, arguments = arguments or {} }, timeout_ms or 10000, bufnr)
  if answer == nil then
    return nil, { message = err or "no answer" }
  end
  return answer.result, answer.err
end

local function root_dir_for(bufnr)
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == "" then
    return nil
  end
  if vim.fs.root then
    return vim.fs.root(bufnr, M.config.root_markers)
  end
  local found = vim.fs.find(M.config.root_markers, { path = vim.fs.dirname(name), upward = true })[1]
  return found and vim.fs.dirname(found) or nil
end

--- Whether the user trusts the repository's own settings file (asking through `vim.secure.read`).
local function trusts_settings(root)
  local file = root and vim.fs.joinpath(root, ".copilot-index.toml")
  if file == nil or vim.fn.filereadable(file) == 0 or M.config.trust ~= "ask" then
    return false
  end
  if not (vim.secure and vim.secure.read) then
    return false
  end
  local ok, contents = pcall(vim.secure.read, file)
  return ok and contents ~= nil
end

local function server_config()
  return {
    name = M.name,
    cmd = M.config.cmd,
    filetypes = M.config.filetypes,
    root_markers = M.config.root_markers,
    -- an empty Lua table would go out as a JSON array; the server wants an object or nothing
    init_options = next(M.config.init_options or {}) ~= nil and M.config.init_options or nil,
    capabilities = vim.lsp.protocol.make_client_capabilities(),
    before_init = function(params, config)
      if trusts_settings(config.root_dir) then
        local options = vim.deepcopy(params.initializationOptions or {})
        options.trustedWorkspace = true
        params.initializationOptions = options
      end
    end,
  }
end

local function register_server()
  if vim.lsp.config and vim.lsp.enable then
    vim.lsp.config(M.name, server_config())
    vim.lsp.enable(M.name)
    return
  end
  -- Older Neovim: start (or reuse) the client for each real file inside a repository.
  vim.api.nvim_create_autocmd("FileType", {
    group = vim.api.nvim_create_augroup("copilot_index_start", { clear = true }),
    callback = function(args)
      local ft = M.config.filetypes
      if ft and not vim.tbl_contains(ft, vim.bo[args.buf].filetype) then
        return
      end
      local root = root_dir_for(args.buf)
      if root == nil or vim.bo[args.buf].buftype ~= "" then
        return
      end
      local config = server_config()
      config.root_dir = root
      vim.lsp.start(config, { bufnr = args.buf })
    end,
  })
end

local function user_commands()
  local commands = require("copilot_index.commands")
  local define = vim.api.nvim_create_user_command
  define("CopilotIndexSearch", function(opts)
    commands.search(opts.args)
  end, { nargs = "+", desc = "copilot-index: search the index into the quickfix list" })
  define("CopilotIndexReindex", function(opts)
    commands.reindex(opts.bang)
  end, { nargs = 0, bang = true, desc = "copilot-index: reindex (! rebuilds)" })
  define("CopilotIndexStatus", function()
    commands.status()
  end, { nargs = 0, desc = "copilot-index: index and server status" })
  define("CopilotIndexSources", function()
    commands.sources()
  end, { nargs = 0, desc = "copilot-index: what grounded the current suggestion" })
end

function M.setup(opts)
  M.config = vim.tbl_deep_extend("force", vim.deepcopy(defaults), opts or {})
  if type(M.config.cmd) == "string" then
    M.config.cmd = { M.config.cmd }
  end
  vim.api.nvim_set_hl(0, "CopilotIndexSuggestion", { link = "Comment", default = true })
  register_server()
  user_commands()
  if M.config.ghost_text then
    require("copilot_index.ghost").enable(M.config)
  end
  if M.config.warm then
    require("copilot_index.warm").enable()
  else
    require("copilot_index.warm").disable()
  end
  M.did_setup = true
end

return M
