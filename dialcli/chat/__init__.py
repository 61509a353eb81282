"""The interactive chat: input, the loop and its slash commands, spinner, Markdown."""
