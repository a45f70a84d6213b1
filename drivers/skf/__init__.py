"""USB keys through their vendor's SKF library (GM/T 0016-2012), over ctypes.

- ``api``: the C interface (types, packed structures, SAR codes, SGD identifiers, prototypes);
- ``errors``: the one SAR -> driver error table;
- ``library`` / ``locate``: loading a library (stdcall or cdecl), the two-call buffer pattern, finding libraries;
- ``backend``: which libraries to load and the backend (light: importing it loads no library and no crypto);
- ``device`` / ``driver`` / ``keys``: device information, device and session;
- ``events``: insertion and removal (SKF_WaitForDevEvent on a worker thread, or polling);
- ``report``: what ``certassist diag`` shows about each library.
"""

from __future__ import annotations

from drivers.skf.backend import SkfBackend

__all__ = ["SkfBackend"]  # the rest is imported from its module (drivers.skf.driver, .events): they load crypto
