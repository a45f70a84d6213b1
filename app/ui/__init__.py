"""The tray application (证书助手). The only package that imports Qt, and only through qtpy."""
