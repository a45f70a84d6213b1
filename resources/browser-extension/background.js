// CertAssist extension service worker: hands a page's request to the assistant's native-messaging host
// with the page's origin as the browser reports it. The host and the assistant apply the same rules as
// to a page calling the bridge over HTTP (allowed sites, rate limits, the assistant's own PIN dialog).
"use strict";

const HOST = "cn.certassist.bridge";
const TYPES = new Set(["status", "certificates", "sign"]);

function text(value, limit) {
  return typeof value === "string" ? value.slice(0, limit) : "";
}

chrome.runtime.onMessage.addListener((message, sender, sendResponse) => {
  if (sender.id !== chrome.runtime.id || !sender.origin || !message || !TYPES.has(message.type)) {
    sendResponse({ status: 400, body: { error: "bad_request", message: "请求无效" } });
    return false;
  }
  const payload = message.payload || {};
  const request = { type: message.type, origin: sender.origin };
  if (message.type === "sign") {
    request.certificate = text(payload.certificate, 64);
    request.nonce = text(payload.nonce, 128);
  }
  chrome.runtime.sendNativeMessage(HOST, request, (response) => {
    if (chrome.runtime.lastError || !response) {
      sendResponse({ status: 503, body: { error: "unreachable", message: "未检测到证书助手：请安装并启动证书助手" } });
    } else {
      sendResponse({ status: response.status, body: response.body });
    }
  });
  return true; // the answer comes later
});
