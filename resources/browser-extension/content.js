// CertAssist extension, in the page's tab: tells the page it is here and carries its requests to the
// extension's service worker. The page's own words never say which site it is: the service worker
// takes that from the browser (sender.origin).
"use strict";

document.documentElement.dataset.certassistExtension = "1";

window.addEventListener("message", (event) => {
  const data = event.data;
  if (event.source !== window || event.origin !== window.location.origin) return;
  if (!data || data.source !== "certassist-page" || typeof data.id !== "number") return;
  chrome.runtime.sendMessage({ type: data.type, payload: data.payload }, (response) => {
    const failed = chrome.runtime.lastError || !response;
    const answer = failed
      ? { status: 503, body: { error: "unreachable", message: "证书助手扩展无法连接证书助手" } }
      : response;
    window.postMessage(
      { source: "certassist-extension", id: data.id, status: answer.status, body: answer.body },
      window.location.origin
    );
  });
});
