"""The pack's front doors: chat (aliases) and the final report rendered for people."""
