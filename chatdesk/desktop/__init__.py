"""The desktop side: command line, settings, server thread, single instance, window."""
