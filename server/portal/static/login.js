// 网上服务系统 login page: 账号登录 (用户名 + 申请人名称 + 验证码) and 证书登录 through the assistant.
"use strict";

(function () {
  const NO_ASSISTANT = "请安装新版驱动或驱动出错"; // the guide's message when no assistant answers
  const EXPLAINED = "certassist-lna-explained";
  const $ = (id) => document.getElementById(id);
  const port = document.body.dataset.bridgePort;
  let captchaId = "";
  let bridge = null;
  let selected = null;

  async function api(path, body) {
    const response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body || {}),
      credentials: "same-origin",
    });
    let data = {};
    try {
      data = await response.json();
    } catch (err) {
      data = {};
    }
    if (!response.ok) {
      const error = new Error(data.message || "服务暂时不可用，请稍后再试");
      error.code = data.error || "http_" + response.status;
      throw error;
    }
    return data;
  }

  function loggedIn(login) {
    sessionStorage.setItem("certassist-token", login.token);
    window.location.assign("/account");
  }

  // -- tabs ---------------------------------------------------------------------------------
  function show(tab) {
    const certificate = tab === "certificate";
    $("tab-account").setAttribute("aria-selected", String(!certificate));
    $("tab-certificate").setAttribute("aria-selected", String(certificate));
    $("account-form").hidden = certificate;
    $("certificate-pane").hidden = !certificate;
    if (certificate && !bridge) startCertificateLogin();
  }

  // -- 账号登录 -------------------------------------------------------------------------------
  async function newCaptcha() {
    try {
      const made = await api("/api/v1/captcha");
      captchaId = made.captcha_id;
      $("captcha-image").src = "data:image/png;base64," + made.image_png;
      $("captcha-answer").value = "";
    } catch (err) {
      $("account-message").textContent = err.message;
    }
  }

  async function accountLogin(event) {
    event.preventDefault();
    $("account-message").textContent = "";
    $("account-login").disabled = true;
    try {
      loggedIn(
        await api("/api/v1/login/account", {
          username: $("username").value.trim(),
          applicant_name: $("applicant").value.trim(),
          captcha_id: captchaId,
          captcha_answer: $("captcha-answer").value.trim(),
        })
      );
    } catch (err) {
      $("account-message").textContent = err.message;
      newCaptcha(); // a captcha is single-use
    } finally {
      $("account-login").disabled = false;
    }
  }

  // -- 证书登录 -------------------------------------------------------------------------------
  function say(text, detail, offerDownload) {
    $("certificate-message").textContent = text || "";
    $("certificate-detail").textContent = detail || "";
    $("download").hidden = !offerDownload;
  }

  function explainFirst() {
    // Before the first loopback request the browser may ask the user: say why, in Chinese, first.
    return new Promise((resolve) => {
      $("lna-explain").hidden = false;
      $("certificate-read").hidden = true;
      $("lna-continue").addEventListener(
        "click",
        () => {
          $("lna-explain").hidden = true;
          $("certificate-read").hidden = false;
          resolve();
        },
        { once: true }
      );
    });
  }

  function refused(err) {
    if (err.code === "unreachable") {
      say(NO_ASSISTANT, "未检测到证书助手。请确认已安装并启动「证书助手」（桌面图标「启动证书助手_标准版」），然后点击“读取证书”重试。", true);
    } else if (err.code === "lna_denied") {
      say(
        NO_ASSISTANT,
        "浏览器已阻止本网站连接证书助手（“本地网络访问”被拒绝）。请点击地址栏左侧的网站信息图标，在“网站设置”中将“本地网络访问”改为“允许”，然后刷新本页；也可以安装证书助手的浏览器扩展。",
        false
      );
    } else {
      say(err.message || NO_ASSISTANT, "", false);
    }
  }

  async function startCertificateLogin() {
    say("");
    $("certificate-list").hidden = true;
    bridge = CertAssistBridge.transport(port);
    $("transport").textContent = bridge.name === "extension" ? "通过证书助手浏览器扩展连接" : "通过本机 127.0.0.1:" + port + " 连接证书助手";
    if (bridge.name === "http") {
      const state = await CertAssistBridge.loopbackPermission();
      if (state === "denied") {
        refused(new CertAssistBridge.BridgeError("lna_denied", ""));
        return;
      }
      if (state === "prompt" && !localStorage.getItem(EXPLAINED)) {
        await explainFirst();
      }
    }
    await readCertificates();
  }

  async function readCertificates() {
    say("正在读取证书…");
    try {
      const status = await bridge.request("status");
      if (bridge.name === "http") localStorage.setItem(EXPLAINED, "1");
      if (!status.certificates) {
        say("证书助手中没有找到证书", "请插入证书设备（USB Key），或先在证书助手中办理证书签发，然后点击“读取证书”。", false);
        return;
      }
      const listed = await bridge.request("certificates");
      fillList(listed.certificates);
      say("");
    } catch (err) {
      refused(err);
    }
  }

  function cell(row, text, kind) {
    const td = document.createElement("td");
    td.textContent = text;
    if (kind) td.className = kind;
    row.appendChild(td);
  }

  function commonName(dn) {
    const found = /(?:^|,\s*)CN=([^,]+)/.exec(dn || "");
    return found ? found[1] : dn;
  }

  function fillList(certificates) {
    const rows = $("certificate-rows");
    rows.replaceChildren();
    selected = certificates.length ? certificates[0].serial : null;
    for (const cert of certificates) {
      const row = document.createElement("tr");
      row.dataset.serial = cert.serial;
      const pick = document.createElement("td");
      const radio = document.createElement("input");
      radio.type = "radio";
      radio.name = "certificate";
      radio.value = cert.serial;
      radio.checked = cert.serial === selected;
      radio.addEventListener("change", () => choose(cert.serial));
      pick.appendChild(radio);
      row.appendChild(pick);
      cell(row, cert.subject, "nowrap");
      cell(row, commonName(cert.issuer));
      cell(row, cert.not_after, "nowrap");
      cell(row, cert.serial, "serial");
      cell(row, cert.device, "nowrap");
      row.addEventListener("click", () => choose(cert.serial));
      rows.appendChild(row);
    }
    choose(selected);
    $("certificate-list").hidden = false;
  }

  function choose(serial) {
    selected = serial;
    for (const row of $("certificate-rows").children) {
      const mine = row.dataset.serial === serial;
      row.classList.toggle("selected", mine);
      row.querySelector("input").checked = mine;
    }
  }

  async function certificateLogin() {
    if (!selected) return;
    $("certificate-login").disabled = true;
    say("请在证书助手弹出的窗口中核对网站地址并输入证书密码…");
    try {
      const challenge = await api("/api/v1/portal/challenge");
      const signed = await bridge.request("sign", { certificate: selected, nonce: challenge.nonce });
      say("正在登录…");
      loggedIn(
        await api("/api/v1/portal/login/certificate", {
          nonce_id: challenge.nonce_id,
          origin: signed.origin,
          certificate: signed.certificate,
          signature: signed.signature,
        })
      );
    } catch (err) {
      if (err instanceof CertAssistBridge.BridgeError) refused(err);
      else say(err.message, "", false);
    } finally {
      $("certificate-login").disabled = false;
    }
  }

  $("tab-account").addEventListener("click", () => show("account"));
  $("tab-certificate").addEventListener("click", () => show("certificate"));
  $("captcha-image").addEventListener("click", newCaptcha);
  $("account-form").addEventListener("submit", accountLogin);
  $("certificate-read").addEventListener("click", readCertificates);
  $("certificate-login").addEventListener("click", certificateLogin);
  newCaptcha();
  if (window.location.hash === "#certificate") show("certificate");
})();
