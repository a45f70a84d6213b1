"""Build the Windows MSI on Linux: a Windows CPython, locked Windows wheels, PyInstaller under Wine, wixl.

Run through ``installer/build-windows.sh``; the test suite (tests/windows) calls the same functions.
Everything downloaded or built is cached under ``~/.cache/certassist-build`` (``CERTASSIST_BUILD_CACHE``),
keyed by a hash of its inputs, so a second build with unchanged inputs only copies the cached MSI.
"""
