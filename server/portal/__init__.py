"""The web portal (网上服务系统 side): a small zh_CN login page at ``/`` with 账号登录 and 证书登录 through the
assistant's browser bridge (or its extension), and an account page. Static files only, served here (no
CDN) under a strict Content-Security-Policy; the pages talk to the service's JSON API."""
