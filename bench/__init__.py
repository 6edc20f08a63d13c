"""aurora bench: build time, changed layers, pushed bytes and image size, aurora vs baselines."""
