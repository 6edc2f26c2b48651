-- Loaded by Neovim on start. Nothing runs until require("copilot_index").setup() is called,
-- unless vim.g.copilot_index_auto_setup is set (then the defaults are used).
if vim.g.loaded_copilot_index then
  return
end
vim.g.loaded_copilot_index = true

if vim.g.copilot_index_auto_setup then
  require("copilot_index").setup(vim.g.copilot_index_options or {})
end
