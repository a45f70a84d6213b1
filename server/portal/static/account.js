// 我的账户: who is logged in, and the state of the certificate used (a session from 证书登录).
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const token = sessionStorage.getItem("certassist-token");
  const STATUS = { approved: "已审核", pending: "待审核", disabled: "已停用" };

  function field(list, name, value) {
    const dt = document.createElement("dt");
    dt.textContent = name;
    const dd = document.createElement("dd");
    dd.textContent = value;
    list.append(dt, dd);
  }

  async function load() {
    if (!token) {
      window.location.replace("/");
      return;
    }
    const response = await fetch("/api/v1/me", { headers: { Authorization: "Bearer " + token }, cache: "no-store" });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      sessionStorage.removeItem("certassist-token");
      $("account-message").textContent = (data.message || "登录已失效") + "，请重新登录";
      return;
    }
    const account = data.account;
    $("applicant-name").textContent = account.applicant_name;
    const fields = $("account-fields");
    field(fields, "用户名", account.username);
    field(fields, "申请人名称", account.applicant_name);
    field(fields, "申请人类型", account.account_type_label);
    field(fields, "注册邮箱", account.email);
    field(fields, "账户状态", STATUS[account.status] || account.status);
    field(fields, "登录方式", data.session === "certificate" ? "证书登录" : "账号登录");
    const cert = data.certificate;
    const certificate = $("certificate-fields");
    if (cert) {
      field(certificate, "证书使用者", cert.subject);
      field(certificate, "颁发者", cert.issuer);
      field(certificate, "序列号", cert.serial);
      field(certificate, "截止日期", String(cert.not_after).slice(0, 10));
      field(certificate, "证书状态", cert.days_left > 0 ? "有效（还有" + cert.days_left + "天到期）" : "已过期");
      if (cert.renewal_allowed) $("certificate-note").textContent = "您的证书即将到期，请在证书助手中办理「证书更新」。";
    } else {
      field(certificate, "证书", "本次为账号登录，未使用证书");
    }
    if (account.exchange_required) $("certificate-note").textContent = "您的证书需要换发，请在证书助手中办理「证书换发」。";
    else if (account.may_issue && !cert) $("certificate-note").textContent = "您可以在证书助手中办理「证书签发」。";
  }

  $("logout").addEventListener("click", async () => {
    if (token) await fetch("/api/v1/logout", { method: "POST", headers: { Authorization: "Bearer " + token } }).catch(() => null);
    sessionStorage.removeItem("certassist-token");
    window.location.assign("/");
  });
  load();
})();
