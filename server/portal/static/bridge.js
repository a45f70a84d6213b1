// The page's side of the assistant's browser bridge (证书助手). Two ways to reach it, one protocol:
// - the CertAssist browser extension when it is installed (native messaging: no Local Network Access
//   prompt; the extension adds this page's origin as the browser reports it);
// - HTTP on 127.0.0.1 otherwise. Chrome/Edge 142+ ask the user before a public site may reach loopback
//   (Local Network Access): the request names its target address space ("loopback") as the spec says,
//   and the page explains the prompt before it appears (see login.js).
"use strict";

(function () {
  const PERMISSION_NAMES = ["loopback-network", "local-network-access"]; // Chrome 145+, Chrome 142-144
  const ROUTES = {
    status: ["GET", "/v1/status"],
    certificates: ["GET", "/v1/certificates"],
    sign: ["POST", "/v1/sign"],
  };

  class BridgeError extends Error {
    constructor(code, message) {
      super(message);
      this.code = code;
    }
  }

  function extensionPresent() {
    return document.documentElement.dataset.certassistExtension === "1";
  }

  class ExtensionTransport {
    constructor() {
      this.name = "extension";
      this.pending = new Map();
      this.next = 1;
      window.addEventListener("message", (event) => {
        const data = event.data;
        if (event.source !== window || !data || data.source !== "certassist-extension") return;
        const waiter = this.pending.get(data.id);
        if (!waiter) return;
        this.pending.delete(data.id);
        waiter(data);
      });
    }

    request(type, payload) {
      const id = this.next++;
      return new Promise((resolve, reject) => {
        this.pending.set(id, (data) => {
          const body = data.body || {};
          if (data.status === 200) resolve(body);
          else reject(new BridgeError(body.error || "unreachable", body.message || "证书助手没有应答"));
        });
        window.postMessage({ source: "certassist-page", id: id, type: type, payload: payload || {} }, window.location.origin);
      });
    }
  }

  class HttpTransport {
    constructor(port) {
      this.name = "http";
      this.base = "http://127.0.0.1:" + port;
    }

    async request(type, payload) {
      const [method, path] = ROUTES[type];
      const init = {
        method: method,
        mode: "cors",
        credentials: "omit",
        cache: "no-store",
        targetAddressSpace: "loopback", // Local Network Access: the documented way to ask for loopback
      };
      if (method === "POST") {
        init.headers = { "Content-Type": "application/json" };
        init.body = JSON.stringify(payload || {});
      }
      let response;
      try {
        response = await fetch(this.base + path, init);
      } catch (err) {
        const state = await loopbackPermission();
        if (state === "denied") throw new BridgeError("lna_denied", "浏览器已阻止本网站连接证书助手");
        throw new BridgeError("unreachable", "未检测到证书助手");
      }
      let body = {};
      try {
        body = await response.json();
      } catch (err) {
        throw new BridgeError("unreachable", "证书助手的应答无法识别");
      }
      if (!response.ok) throw new BridgeError(body.error || "refused", body.message || "证书助手拒绝了请求");
      return body;
    }
  }

  // The loopback permission's state: "granted", "denied", "prompt", or "unsupported" (older browsers,
  // other engines: no Local Network Access checks at all).
  async function loopbackPermission() {
    if (!navigator.permissions || !navigator.permissions.query) return "unsupported";
    for (const name of PERMISSION_NAMES) {
      try {
        const status = await navigator.permissions.query({ name: name });
        return status.state;
      } catch (err) {
        // this browser does not know the name: try the next one
      }
    }
    return "unsupported";
  }

  function transport(port) {
    return extensionPresent() ? new ExtensionTransport() : new HttpTransport(port);
  }

  window.CertAssistBridge = { BridgeError, transport, extensionPresent, loopbackPermission };
})();
