"""Desktop application: the tray app (issue 5) and the ``certassist`` command line."""
