"""The chat domain (rooms, protocol, hub, store, access) and its web app (`chat.app.Chat`)."""
