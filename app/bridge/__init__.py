"""The local browser bridge: web pages of the configured service origins list certificates and have the
service's login challenge signed, after the assistant's own dialog (no Qt here; ``app.ui.bridge`` is the
tray's side). Transports: HTTP+JSON on loopback (``http``) and Chromium native messaging (``native``),
both answering through one ``protocol.BridgeCore`` under the same rules (``rules``)."""
