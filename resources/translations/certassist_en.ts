<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en" sourcelanguage="zh_CN">
<context>
    <name>certassist</name>
    <message>
        <source> 天</source>
        <translation> days</translation>
    </message>
    <message>
        <source>&lt;b&gt;证书助手 CertAssist&lt;/b&gt; {version}&lt;br&gt;签发、换发、更新、解锁和废除国密SM2双证书（软证书和USB Key）。&lt;br&gt;&lt;br&gt;密码库：{openssl}&lt;br&gt;界面：{qt}&lt;br&gt;系统：{system}</source>
        <translation>&lt;b&gt;CertAssist&lt;/b&gt; {version}&lt;br&gt;Issues, exchanges, renews, unlocks and revokes SM2 dual certificates (soft certificates and USB keys).&lt;br&gt;&lt;br&gt;Crypto library: {openssl}&lt;br&gt;UI: {qt}&lt;br&gt;System: {system}</translation>
    </message>
    <message>
        <source>CRL分发点</source>
        <translation>CRL distribution points</translation>
    </message>
    <message>
        <source>CRL签名</source>
        <translation>CRL signing</translation>
    </message>
    <message>
        <source>PIN码</source>
        <translation>PIN</translation>
    </message>
    <message>
        <source>PIN码已被锁定（连续输错次数过多）。请使用「证书解锁」，通过注册邮箱收到的解锁码设置新的PIN码。</source>
        <translation>The PIN is locked (too many wrong tries). Use "Unlock certificate" to set a new PIN with the unlock code sent to your registered email.</translation>
    </message>
    <message>
        <source>PIN码已被锁定，请使用「证书解锁」</source>
        <translation>The PIN is locked; use Unlock certificate</translation>
    </message>
    <message>
        <source>PIN码状态</source>
        <translation>PIN status</translation>
    </message>
    <message>
        <source>PIN码错误，请重新输入</source>
        <translation>Wrong PIN, please try again</translation>
    </message>
    <message>
        <source>PIN码错误，还可以尝试{n}次</source>
        <translation>Wrong PIN, {n} tries left</translation>
    </message>
    <message>
        <source>PIN码长度应为{low}~{high}位，请重新输入</source>
        <translation>A PIN must have {low} to {high} characters, please try again</translation>
    </message>
    <message>
        <source>SHA1指纹</source>
        <translation>SHA-1 fingerprint</translation>
    </message>
    <message>
        <source>SM2签名</source>
        <translation>SM2 signing</translation>
    </message>
    <message>
        <source>SM3指纹</source>
        <translation>SM3 fingerprint</translation>
    </message>
    <message>
        <source>USB Key 驱动 (PKCS#11)</source>
        <translation>USB key drivers (PKCS#11)</translation>
    </message>
    <message>
        <source>USB Key中的私钥不能导出，无法备份；USB Key本身就是证书的安全载体，请妥善保管。</source>
        <translation>Private keys on a USB key cannot be exported, so it cannot be backed up; the USB key itself keeps the certificate safe: keep it in a safe place.</translation>
    </message>
    <message>
        <source>USB Key拒绝了证书服务托管的管理员PIN码（它可能在别处被修改过），无法在线解锁。请联系证书颁发机构。</source>
        <translation>The USB key refused the admin PIN escrowed at the certificate service (it may have been changed elsewhere), so it cannot be unlocked online. Please contact the certificate authority.</translation>
    </message>
    <message>
        <source>USB Key的管理员PIN码已被锁定，无法在线解锁。请联系USB Key厂商或证书颁发机构。</source>
        <translation>The USB key's admin PIN is locked, so it cannot be unlocked online. Please contact the USB key's vendor or the certificate authority.</translation>
    </message>
    <message>
        <source>USB Key驱动程序无法加载：{modules}。请重新安装USB Key的驱动程序，或在设置文件中改正模块路径</source>
        <translation>USB key drivers cannot be loaded: {modules}. Reinstall the USB key's driver, or correct the module path in the settings file</translation>
    </message>
    <message>
        <source>USB Key：{device}</source>
        <translation>USB key: {device}</translation>
    </message>
    <message>
        <source>USB Key：{label}</source>
        <translation>USB key: {label}</translation>
    </message>
    <message>
        <source>{count} 个软证书，保存在 {directory}</source>
        <translation>{count} soft certificate(s), kept in {directory}</translation>
    </message>
    <message>
        <source>{detail}</source>
        <translation>{detail}</translation>
    </message>
    <message>
        <source>{devices} 个证书设备，{certificates} 张证书</source>
        <translation>{devices} certificate device(s), {certificates} certificate(s)</translation>
    </message>
    <message>
        <source>{label}（{vendor}，序列号 {serial}）</source>
        <translation>{label} ({vendor}, serial {serial})</translation>
    </message>
    <message>
        <source>{label}（序列号 {serial}）</source>
        <translation>{label} (serial {serial})</translation>
    </message>
    <message>
        <source>{n} 张证书均可验证到证书服务的根证书</source>
        <translation>All {n} certificate(s) verify up to the service's root certificate</translation>
    </message>
    <message>
        <source>{path} 已被另一个程序占用</source>
        <translation>{path} is taken by another program</translation>
    </message>
    <message>
        <source>{subject} 的PIN码已锁定，请使用「证书解锁」</source>
        <translation>The PIN of {subject} is locked; use Unlock certificate</translation>
    </message>
    <message>
        <source>{subject}：无法读取PIN码状态（{code}）</source>
        <translation>{subject}: cannot read the PIN status ({code})</translation>
    </message>
    <message>
        <source>{url} 可以访问（{ms} 毫秒）</source>
        <translation>{url} is reachable ({ms} ms)</translation>
    </message>
    <message>
        <source>{url} 返回 HTTP {status}</source>
        <translation>{url} answered HTTP {status}</translation>
    </message>
    <message>
        <source>{what}需要先使用「证书登录」</source>
        <translation>{what} needs a certificate login first</translation>
    </message>
    <message>
        <source>{what}需要先使用「账号登录」</source>
        <translation>{what} needs an account login first</translation>
    </message>
    <message>
        <source>{what}，为防止绕过PIN码错误次数限制，已拒绝使用。请恢复证书助手最后保存的文件，或使用「证书签发」重新申请。</source>
        <translation>{what}; it is refused so that the limit on wrong PIN tries cannot be bypassed. Restore the file CertAssist saved last, or apply again with "Issue certificate".</translation>
    </message>
    <message>
        <source>。新的管理员PIN码暂未托管到证书服务，下次「证书登录」时将自动完成。</source>
        <translation>. The key's new admin PIN is not yet escrowed at the certificate service; this completes automatically at the next certificate login.</translation>
    </message>
    <message>
        <source>。注意：该USB Key的管理员PIN码不是出厂值，没有托管到证书服务，忘记PIN码时无法在线「证书解锁」，需联系USB Key厂商或证书颁发机构。</source>
        <translation>. Note: this USB key's admin PIN is not the factory one and could not be escrowed at the certificate service, so a forgotten PIN cannot be unlocked online (Unlock certificate); contact the USB key's vendor or the certificate authority.</translation>
    </message>
    <message>
        <source>「{device}」不支持国密SM2双证书（缺少：{missing}），不能在其中签发证书。请选择软证书，或使用支持国密SM2的USB Key。</source>
        <translation>"{device}" does not support SM2 dual certificates (missing: {missing}), so no certificate can be issued onto it. Choose a soft certificate, or use a USB key with SM2.</translation>
    </message>
    <message>
        <source>「{device}」仍在使用出厂默认PIN码，拿到这个USB Key的人都能试出它。为了您的证书安全，请现在修改PIN码。</source>
        <translation>"{device}" still uses its factory PIN, which anyone holding this USB key can guess. To keep your certificate safe, change the PIN now.</translation>
    </message>
    <message>
        <source>不使用代理</source>
        <translation>No proxy</translation>
    </message>
    <message>
        <source>不可否认</source>
        <translation>Non-repudiation</translation>
    </message>
    <message>
        <source>与证书服务相差 {skew} 秒</source>
        <translation>{skew} s apart from the certificate service</translation>
    </message>
    <message>
        <source>两次输入的备份密码不一致</source>
        <translation>The two backup passwords do not match</translation>
    </message>
    <message>
        <source>两次输入的新PIN码不一致，请重新输入</source>
        <translation>The two new PINs differ, please enter them again</translation>
    </message>
    <message>
        <source>为了保证您的证书安全，签发证书前请输入账号审核通过邮件中的签发码（也可以输入账号密码）。</source>
        <translation>To keep your certificate safe, enter the issuance code from your account's approval mail (or your account password) before the certificate is issued.</translation>
    </message>
    <message>
        <source>从备份文件（.pfx/.p12，SM2密钥）恢复证书到本机新的软证书中，并设置新的证书密码，请牢记！</source>
        <translation>Restore certificates from a backup file (.pfx/.p12 with SM2 keys) into a new soft certificate on this computer, with a new certificate PIN. Remember it!</translation>
    </message>
    <message>
        <source>代理地址</source>
        <translation>Proxy address</translation>
    </message>
    <message>
        <source>代理服务</source>
        <translation>Proxy</translation>
    </message>
    <message>
        <source>代理服务器 {proxy} 没有响应。请检查「设置 → 代理服务」中的代理地址和端口，或确认代理服务器已启动。</source>
        <translation>The proxy server {proxy} does not answer. Check the proxy address and port in Settings → Proxy, or make sure the proxy server is running.</translation>
    </message>
    <message>
        <source>代理服务器 {proxy} 没有响应：请检查代理地址和端口，或点击「重置代理设置」</source>
        <translation>The proxy server {proxy} does not answer: check the proxy address and port, or click Reset proxy settings</translation>
    </message>
    <message>
        <source>代理服务器要求验证，请在「设置 → 代理服务」中填写正确的用户名和密码。</source>
        <translation>The proxy requires authentication: enter the right user name and password in Settings → Proxy.</translation>
    </message>
    <message>
        <source>代理服务器要求验证：请在「设置 → 代理服务」中填写用户名和密码</source>
        <translation>The proxy server requires authentication: enter the user name and password in Settings → Proxy</translation>
    </message>
    <message>
        <source>代理服务器要求验证：请检查用户名和密码</source>
        <translation>The proxy requires authentication: check the user name and password</translation>
    </message>
    <message>
        <source>代理机构</source>
        <translation>Agency</translation>
    </message>
    <message>
        <source>代理登录缓存已清除</source>
        <translation>Cached proxy credentials and sessions cleared</translation>
    </message>
    <message>
        <source>代理设置已保存</source>
        <translation>Proxy settings saved</translation>
    </message>
    <message>
        <source>代理设置已重置为「不使用代理」，正在重新检查…</source>
        <translation>The proxy setting was reset to No proxy; checking again…</translation>
    </message>
    <message>
        <source>以下网站请求使用您的证书登录。请确认这是您正在访问的网站，再输入证书密码；证书密码只在证书助手中使用，不会交给网站。</source>
        <translation>The web site below asks to log in with your certificate. Check that it is the site you are visiting before you enter the certificate PIN; the PIN is used only in CertAssist and is never given to the site.</translation>
    </message>
    <message>
        <source>以下证书不是当前证书服务签发的或已过期，请办理「证书换发」或「证书更新」：{subjects}</source>
        <translation>These certificates were not issued by the current certificate service or have expired; use Exchange certificate or Update certificate: {subjects}</translation>
    </message>
    <message>
        <source>使用 HTTP(S) 代理</source>
        <translation>Use an HTTP(S) proxy</translation>
    </message>
    <message>
        <source>使用USB Key时需要智能卡服务：它没有运行，可在「环境修复」中启动。</source>
        <translation>USB keys need the smart card service: it is not running; you can start it in Repair environment.</translation>
    </message>
    <message>
        <source>使用系统代理设置</source>
        <translation>Use the system proxy settings</translation>
    </message>
    <message>
        <source>使用者</source>
        <translation>Subject</translation>
    </message>
    <message>
        <source>例如 https://portal.example.cn（多个用空格分隔）</source>
        <translation>e.g. https://portal.example.cn (separate several with spaces)</translation>
    </message>
    <message>
        <source>保存</source>
        <translation>Save</translation>
    </message>
    <message>
        <source>修复</source>
        <translation>Repair</translation>
    </message>
    <message>
        <source>修改PIN码</source>
        <translation>Change PIN</translation>
    </message>
    <message>
        <source>修改PIN码成功</source>
        <translation>PIN changed</translation>
    </message>
    <message>
        <source>修改用户PIN码</source>
        <translation>Change user PIN</translation>
    </message>
    <message>
        <source>值</source>
        <translation>Value</translation>
    </message>
    <message>
        <source>公钥</source>
        <translation>Public key</translation>
    </message>
    <message>
        <source>关于</source>
        <translation>About</translation>
    </message>
    <message>
        <source>关闭</source>
        <translation>Close</translation>
    </message>
    <message>
        <source>其他</source>
        <translation>Other</translation>
    </message>
    <message>
        <source>其他允许的网站</source>
        <translation>Other allowed web sites</translation>
    </message>
    <message>
        <source>刷新</source>
        <translation>Refresh</translation>
    </message>
    <message>
        <source>刷新失败：{problem}</source>
        <translation>Refresh failed: {problem}</translation>
    </message>
    <message>
        <source>刷新完成：找到 {n} 张证书</source>
        <translation>Refreshed: {n} certificate(s) found</translation>
    </message>
    <message>
        <source>刷新完成：没有找到证书。请插入USB Key，或使用「证书签发」申请证书。</source>
        <translation>Refreshed: no certificate found. Insert your USB key, or use Issue certificate to apply for one.</translation>
    </message>
    <message>
        <source>剩余 1 次：这是最后一次尝试机会，输错后PIN码将被锁定</source>
        <translation>1 try left: this is the last try; a wrong PIN locks it</translation>
    </message>
    <message>
        <source>剩余 {n} 次：PIN码连续输错 {n} 次后将被锁定</source>
        <translation>{n} tries left: {n} wrong PINs in a row lock it</translation>
    </message>
    <message>
        <source>加密证书</source>
        <translation>encryption certificate</translation>
    </message>
    <message>
        <source>加密证书详情</source>
        <translation>Encryption certificate details</translation>
    </message>
    <message>
        <source>厂商</source>
        <translation>Vendor</translation>
    </message>
    <message>
        <source>发生了意外错误（{kind}）。请运行「环境修复」检查；如仍有问题，请把日志文件发送给技术支持。</source>
        <translation>An unexpected error occurred ({kind}). Run "Repair environment"; if the problem stays, send the log file to support.</translation>
    </message>
    <message>
        <source>取消</source>
        <translation>Cancel</translation>
    </message>
    <message>
        <source>同一数字或字符重复</source>
        <translation>one digit or character repeated</translation>
    </message>
    <message>
        <source>后台加载</source>
        <translation>Load in background</translation>
    </message>
    <message>
        <source>启动智能卡服务</source>
        <translation>Start smart card service</translation>
    </message>
    <message>
        <source>启动智能卡服务失败（代码 {code}）：请以管理员身份启动「Smart Card」服务</source>
        <translation>Could not start the smart card service (code {code}): start the Smart Card service as an administrator</translation>
    </message>
    <message>
        <source>启动智能卡服务失败：{detail}</source>
        <translation>Could not start the smart card service: {detail}</translation>
    </message>
    <message>
        <source>在设备中生成SM2密钥</source>
        <translation>SM2 key generation on the device</translation>
    </message>
    <message>
        <source>备份密码</source>
        <translation>Backup password</translation>
    </message>
    <message>
        <source>备份密码不能以空格开头或结尾，也不能含控制字符</source>
        <translation>The backup password may not begin or end with a space or contain control characters</translation>
    </message>
    <message>
        <source>备份密码应为{low}-{high}个字符</source>
        <translation>The backup password must be {low}-{high} characters long</translation>
    </message>
    <message>
        <source>备份密码过于简单（重复字符或常见密码），请换一个</source>
        <translation>The backup password is too simple (repeated characters or a common password); please choose another</translation>
    </message>
    <message>
        <source>备份密码过于简单：请至少包含大写字母、小写字母、数字、符号中的三类，或使用16个字符以上的密码</source>
        <translation>The backup password is too simple: use at least three of upper-case letters, lower-case letters, digits and symbols, or 16 characters or more</translation>
    </message>
    <message>
        <source>备份密码错误次数过多，请{seconds}秒后再试。</source>
        <translation>Too many wrong backup passwords; try again in {seconds} seconds.</translation>
    </message>
    <message>
        <source>备份密码错误（或文件已被改动），请重新输入。</source>
        <translation>Wrong backup password (or the file was altered); please enter it again.</translation>
    </message>
    <message>
        <source>备份文件</source>
        <translation>Backup file</translation>
    </message>
    <message>
        <source>备份文件中容器 {name} 只有加密私钥、没有签名私钥，文件不完整</source>
        <translation>The backup file is incomplete: container {name} has an encryption key but no signing key</translation>
    </message>
    <message>
        <source>备份文件包含证书和私钥（含历史加密密钥），由备份密码保护，可在新电脑上「恢复证书」。请妥善保管备份文件并牢记备份密码：得到文件的人可以离线猜测密码，所以备份密码要足够长。</source>
        <translation>The backup file holds the certificates and private keys (earlier encryption keys included), protected by the backup password; use "Restore certificate" on a new computer. Keep the file safe and remember the password: whoever gets the file can guess passwords offline, so make it long.</translation>
    </message>
    <message>
        <source>备份证书</source>
        <translation>Back up certificate</translation>
    </message>
    <message>
        <source>备份证书成功：{path}</source>
        <translation>Certificate backed up: {path}</translation>
    </message>
    <message>
        <source>字段</source>
        <translation>Field</translation>
    </message>
    <message>
        <source>安装根证书</source>
        <translation>Install root certificate</translation>
    </message>
    <message>
        <source>安装根证书失败：{detail}</source>
        <translation>Could not install the root certificate: {detail}</translation>
    </message>
    <message>
        <source>密码</source>
        <translation>Password</translation>
    </message>
    <message>
        <source>密码保存在系统密钥环中。</source>
        <translation>The password is kept in the system keyring.</translation>
    </message>
    <message>
        <source>密钥加密</source>
        <translation>Key encipherment</translation>
    </message>
    <message>
        <source>密钥协商</source>
        <translation>Key agreement</translation>
    </message>
    <message>
        <source>密钥用法</source>
        <translation>Key usage</translation>
    </message>
    <message>
        <source>密钥类型</source>
        <translation>Key type</translation>
    </message>
    <message>
        <source>导入加密密钥对</source>
        <translation>importing the encryption key pair</translation>
    </message>
    <message>
        <source>导出失败：{detail}</source>
        <translation>Export failed: {detail}</translation>
    </message>
    <message>
        <source>导出证书</source>
        <translation>Export certificate</translation>
    </message>
    <message>
        <source>将清除保存的代理密码和登录状态，是否继续？</source>
        <translation>This clears the saved proxy password and login sessions. Continue?</translation>
    </message>
    <message>
        <source>已修复</source>
        <translation>Repaired</translation>
    </message>
    <message>
        <source>已创建证书目录 {directory}</source>
        <translation>Created the certificate folder {directory}</translation>
    </message>
    <message>
        <source>已刷新（{time}）：{n} 张证书</source>
        <translation>Refreshed ({time}): {n} certificate(s)</translation>
    </message>
    <message>
        <source>已加载 {n} 个USB Key驱动程序：{modules}</source>
        <translation>{n} USB key driver(s) loaded: {modules}</translation>
    </message>
    <message>
        <source>已导出到 {path}</source>
        <translation>Exported to {path}</translation>
    </message>
    <message>
        <source>已自动修复 {n} 项。</source>
        <translation>{n} item(s) repaired automatically.</translation>
    </message>
    <message>
        <source>常见的PIN码</source>
        <translation>a common PIN</translation>
    </message>
    <message>
        <source>序列号</source>
        <translation>Serial number</translation>
    </message>
    <message>
        <source>开机时自动启动证书助手</source>
        <translation>Start CertAssist when I log in</translation>
    </message>
    <message>
        <source>恢复证书</source>
        <translation>Restore certificate</translation>
    </message>
    <message>
        <source>恢复证书成功：{names}</source>
        <translation>Certificate restored: {names}</translation>
    </message>
    <message>
        <source>您是第一次新签证书，需输入新的证书密码，将用于证书以后使用中的验证，请牢记！</source>
        <translation>This is your first certificate: choose a new certificate PIN. It protects the certificate from now on; please remember it!</translation>
    </message>
    <message>
        <source>您正在执行证书废除，废除后该证书将无法再使用，是否继续执行？（{subject}）</source>
        <translation>You are about to revoke the certificate; it cannot be used afterwards. Continue? ({subject})</translation>
    </message>
    <message>
        <source>您正在执行证书换发，是否继续执行？</source>
        <translation>You are about to exchange your certificate. Continue?</translation>
    </message>
    <message>
        <source>您正在执行证书更新，是否继续执行？</source>
        <translation>You are about to update your certificate. Continue?</translation>
    </message>
    <message>
        <source>您正在执行证书签发，是否继续执行？</source>
        <translation>You are about to issue a certificate. Continue?</translation>
    </message>
    <message>
        <source>您正在执行证书解锁，是否继续执行？</source>
        <translation>You are about to unlock the certificate. Continue?</translation>
    </message>
    <message>
        <source>您的证书已过期，请使用「证书更新」续期或重新办理「证书签发」</source>
        <translation>Your certificate has expired: renew it with "Update certificate" or apply again with "Issue certificate"</translation>
    </message>
    <message>
        <source>您的证书还有{days}天到期。证书更新（续期）在证书到期前一个月内办理；公司名称变更需先在网上服务系统提交申请并审核通过。</source>
        <translation>Your certificate expires in {days} days. Renewal (Update certificate) opens one month before expiry; a company name change must first be requested and approved in the online service system.</translation>
    </message>
    <message>
        <source>您的证书（{subject}）已过期，请使用「证书更新」续期</source>
        <translation>Your certificate ({subject}) has expired: renew it with "Update certificate"</translation>
    </message>
    <message>
        <source>截止日期</source>
        <translation>Valid until</translation>
    </message>
    <message>
        <source>打开菜单</source>
        <translation>Open menu</translation>
    </message>
    <message>
        <source>换一张</source>
        <translation>Another one</translation>
    </message>
    <message>
        <source>提示：签发码已随审核通过邮件发送到用户注册邮箱</source>
        <translation>Note: the issuance code was sent with the approval mail to the account's registered email</translation>
    </message>
    <message>
        <source>提示：请到用户注册邮箱查看解锁码</source>
        <translation>Hint: the unlock code was sent to your registered email</translation>
    </message>
    <message>
        <source>数字签名</source>
        <translation>Digital signature</translation>
    </message>
    <message>
        <source>数据加密</source>
        <translation>Data encipherment</translation>
    </message>
    <message>
        <source>文件 {path} 已存在，是否覆盖？</source>
        <translation>The file {path} exists. Replace it?</translation>
    </message>
    <message>
        <source>文件夹 {path} 不属于当前用户，或其他用户也能进入</source>
        <translation>The folder {path} does not belong to you, or other users can enter it</translation>
    </message>
    <message>
        <source>文件已损坏，或不是可以读取的证书备份文件（.pfx/.p12，SM2密钥）：{detail}</source>
        <translation>The file is damaged, or not a certificate backup that can be read (.pfx/.p12 with SM2 keys): {detail}</translation>
    </message>
    <message>
        <source>文件操作失败：{detail}</source>
        <translation>File operation failed: {detail}</translation>
    </message>
    <message>
        <source>新PIN码过于简单（{reason}），容易被猜中。请换一个：不要使用重复、连续（如123456、654321）或常见的PIN码。</source>
        <translation>The new PIN is too simple ({reason}) and easy to guess. Choose another one: no repeats, no runs such as 123456 or 654321, no common PINs.</translation>
    </message>
    <message>
        <source>新的签发码已发送到 {email}，请查收邮件</source>
        <translation>A new issuance code was sent to {email}; please check your mail</translation>
    </message>
    <message>
        <source>无法从证书服务获取根证书，请先解决证书服务连接的问题</source>
        <translation>Cannot get the root certificate from the certificate service; solve the connection problem first</translation>
    </message>
    <message>
        <source>无法使用证书设备的驱动程序。请运行「环境修复」检查。</source>
        <translation>The certificate device's driver cannot be used. Run Repair environment to check.</translation>
    </message>
    <message>
        <source>无法创建文件夹 {path}：{error}</source>
        <translation>Cannot create the folder {path}: {error}</translation>
    </message>
    <message>
        <source>无法监听 {path}：{error}</source>
        <translation>Cannot listen on {path}: {error}</translation>
    </message>
    <message>
        <source>无法设置开机启动：{detail}</source>
        <translation>Could not set start at login: {detail}</translation>
    </message>
    <message>
        <source>无法读取证书设备「{label}」（{code}）：请重新插入USB Key；软证书请使用「证书解锁」或重新办理「证书签发」</source>
        <translation>Cannot read the certificate device "{label}" ({code}): insert the USB key again; for a soft certificate use Unlock certificate or Issue certificate again</translation>
    </message>
    <message>
        <source>无法读取证书设备「{label}」：请重新插入后点击「刷新」，或运行「环境修复」查看详情</source>
        <translation>Cannot read the certificate device "{label}": insert it again and click Refresh, or run Repair environment for details</translation>
    </message>
    <message>
        <source>无法读取软证书「{name}」：请运行「环境修复」查看详情</source>
        <translation>Cannot read the soft certificate "{name}": run Repair environment for details</translation>
    </message>
    <message>
        <source>无法运行 {tool}：{detail}</source>
        <translation>Cannot run {tool}: {detail}</translation>
    </message>
    <message>
        <source>无法连接证书服务 {url}：请检查网络连接和代理设置</source>
        <translation>Cannot reach the certificate service {url}: check the network connection and the proxy settings</translation>
    </message>
    <message>
        <source>无法连接证书服务（{url}）。请检查网络连接；如需通过代理上网，请在「设置 → 代理服务」中配置代理后重试。</source>
        <translation>Cannot reach the certificate service ({url}). Check the network; if you need a proxy, set it in Settings → Proxy and try again.</translation>
    </message>
    <message>
        <source>智能卡服务 (PC/SC)</source>
        <translation>Smart card service (PC/SC)</translation>
    </message>
    <message>
        <source>智能卡服务正在运行</source>
        <translation>The smart card service is running</translation>
    </message>
    <message>
        <source>智能卡服务没有运行，USB Key无法使用；请点击「启动智能卡服务」</source>
        <translation>The smart card service is not running, so USB keys cannot be used; click Start smart card service</translation>
    </message>
    <message>
        <source>智能卡服务没有运行，USB Key无法使用；请由管理员启动系统的智能卡服务（Windows：Smart Card；Linux：pcscd）</source>
        <translation>The smart card service is not running, so USB keys cannot be used; ask an administrator to start the system's smart card service (Windows: Smart Card; Linux: pcscd)</translation>
    </message>
    <message>
        <source>智能卡服务没有运行，无法使用USB Key。请在「环境修复」中启动智能卡服务。</source>
        <translation>The smart card service is not running, so the USB key cannot be used. Start the smart card service in Repair environment.</translation>
    </message>
    <message>
        <source>智能卡服务没有运行；只使用软证书时不需要</source>
        <translation>The smart card service is not running; it is not needed for soft certificates</translation>
    </message>
    <message>
        <source>智能卡服务没有运行；只使用软证书时不需要。使用USB Key时可点击「启动智能卡服务」</source>
        <translation>The smart card service is not running; it is not needed for soft certificates. To use a USB key, click Start smart card service</translation>
    </message>
    <message>
        <source>有效期从</source>
        <translation>Valid from</translation>
    </message>
    <message>
        <source>有效期到</source>
        <translation>Valid until</translation>
    </message>
    <message>
        <source>未使用</source>
        <translation>Not in use</translation>
    </message>
    <message>
        <source>未找到系统密钥环：密码只在本次运行中有效。</source>
        <translation>No system keyring found: the password is kept for this session only.</translation>
    </message>
    <message>
        <source>未检测到系统托盘，证书助手的菜单在此窗口中。</source>
        <translation>No system tray found: CertAssist's menu is in this window.</translation>
    </message>
    <message>
        <source>未登录</source>
        <translation>Not logged in</translation>
    </message>
    <message>
        <source>未知厂商</source>
        <translation>unknown vendor</translation>
    </message>
    <message>
        <source>未配置USB Key驱动程序；只使用软证书时不需要</source>
        <translation>No USB key driver is set up; none is needed for soft certificates</translation>
    </message>
    <message>
        <source>本机时间与证书服务相差 {skew} 秒，请校准系统时间（启用自动同步时间）</source>
        <translation>This computer's clock is {skew} s apart from the certificate service; correct the system time (turn on automatic time sync)</translation>
    </message>
    <message>
        <source>根证书</source>
        <translation>Root certificate</translation>
    </message>
    <message>
        <source>检查到您的证书还有:{days}天就要过期，请及时使用「证书更新」续期（{subject}）</source>
        <translation>Your certificate expires in {days} days: renew it with "Update certificate" ({subject})</translation>
    </message>
    <message>
        <source>检查到您的证书还有:{days}天就要过期，需要办理「证书更新」</source>
        <translation>Your certificate expires in {days} days: "Update certificate" is needed</translation>
    </message>
    <message>
        <source>检查完成：{bad} 项需要注意，请按说明处理。</source>
        <translation>Check finished: {bad} item(s) need attention, see the notes.</translation>
    </message>
    <message>
        <source>检查完成：运行环境正常。</source>
        <translation>Check finished: everything is in order.</translation>
    </message>
    <message>
        <source>检查项</source>
        <translation>Check</translation>
    </message>
    <message>
        <source>欢迎</source>
        <translation>Welcome</translation>
    </message>
    <message>
        <source>正在修复，请在系统的提示中确认…</source>
        <translation>Repairing; confirm in the system's prompt…</translation>
    </message>
    <message>
        <source>正在写入证书</source>
        <translation>Writing the certificates</translation>
    </message>
    <message>
        <source>正在刷新…</source>
        <translation>Refreshing…</translation>
    </message>
    <message>
        <source>正在加载启动数据，请稍等</source>
        <translation>Loading, please wait</translation>
    </message>
    <message>
        <source>正在发送解锁码到注册邮箱，请稍等</source>
        <translation>Sending the unlock code to your registered email, please wait</translation>
    </message>
    <message>
        <source>正在处理，请稍等…</source>
        <translation>Working, please wait…</translation>
    </message>
    <message>
        <source>正在备份证书…</source>
        <translation>Backing up the certificate…</translation>
    </message>
    <message>
        <source>正在恢复证书…</source>
        <translation>Restoring the certificate…</translation>
    </message>
    <message>
        <source>正在检查证书助手的运行环境，请稍等…</source>
        <translation>Checking CertAssist's environment, please wait…</translation>
    </message>
    <message>
        <source>正在检查证书服务</source>
        <translation>Checking the certificate service</translation>
    </message>
    <message>
        <source>正在检查证书设备</source>
        <translation>Checking certificate devices</translation>
    </message>
    <message>
        <source>正在测试连接…</source>
        <translation>Testing the connection…</translation>
    </message>
    <message>
        <source>正在生成签名密钥</source>
        <translation>Generating the signing key</translation>
    </message>
    <message>
        <source>正在登录，请稍等…</source>
        <translation>Logging in, please wait…</translation>
    </message>
    <message>
        <source>正在签名，请稍等…</source>
        <translation>Signing, please wait…</translation>
    </message>
    <message>
        <source>正在获取验证码…</source>
        <translation>Loading the captcha…</translation>
    </message>
    <message>
        <source>正常</source>
        <translation>OK</translation>
    </message>
    <message>
        <source>此安装包（Windows 7 版）不支持 PKCS#11 驱动：请使用USB Key的SKF驱动，或在 Windows 10/11 上安装标准安装包</source>
        <translation>This package (the Windows 7 build) does not support PKCS#11 drivers: use the USB key's SKF driver, or install the standard package on Windows 10/11</translation>
    </message>
    <message>
        <source>没有密码可不填</source>
        <translation>Leave empty if there is no password</translation>
    </message>
    <message>
        <source>没有找到证书</source>
        <translation>No certificate found</translation>
    </message>
    <message>
        <source>没有找到证书。请插入USB Key后点击「刷新」。</source>
        <translation>No certificate found. Insert your USB key and click "Refresh".</translation>
    </message>
    <message>
        <source>没有找到证书。请插入USB Key后点击「刷新」，或先使用账号登录办理「证书签发」。</source>
        <translation>No certificate found. Insert your USB key and click "Refresh", or log in with your account and use "Issue certificate".</translation>
    </message>
    <message>
        <source>没有找到证书或USB Key</source>
        <translation>No certificate or USB key found</translation>
    </message>
    <message>
        <source>没有找到证书或证书设备。请插入USB Key后点击「刷新」。</source>
        <translation>No certificate or certificate device found. Insert your USB key and click Refresh.</translation>
    </message>
    <message>
        <source>没有证书</source>
        <translation>No certificate</translation>
    </message>
    <message>
        <source>法人</source>
        <translation>Legal person</translation>
    </message>
    <message>
        <source>注意</source>
        <translation>Attention</translation>
    </message>
    <message>
        <source>注意：PIN码已多次输错，剩余尝试次数不多，请仔细输入</source>
        <translation>Note: the PIN was mistyped several times and few tries are left; type it carefully</translation>
    </message>
    <message>
        <source>注意：PIN码连续输错多次后将被锁定</source>
        <translation>Note: several wrong PINs in a row lock it</translation>
    </message>
    <message>
        <source>测试连接</source>
        <translation>Test connection</translation>
    </message>
    <message>
        <source>浏览…</source>
        <translation>Browse…</translation>
    </message>
    <message>
        <source>浏览器证书登录无法使用：本机端口 {port} 已被占用或不可用（{detail}）。</source>
        <translation>Web certificate login is unavailable: local port {port} is in use or cannot be opened ({detail}).</translation>
    </message>
    <message>
        <source>浏览器证书登录端口</source>
        <translation>Web certificate login port</translation>
    </message>
    <message>
        <source>浏览器证书登录：未开启</source>
        <translation>Web certificate login: off</translation>
    </message>
    <message>
        <source>浏览器证书登录：正在本机 127.0.0.1:{port} 等待网上服务系统的请求</source>
        <translation>Web certificate login: waiting for the online service's requests on 127.0.0.1:{port}</translation>
    </message>
    <message>
        <source>清除代理登录缓存</source>
        <translation>Clear cached proxy logins</translation>
    </message>
    <message>
        <source>演示模式</source>
        <translation>Demo mode</translation>
    </message>
    <message>
        <source>演示模式：{url}</source>
        <translation>Demo mode: {url}</translation>
    </message>
    <message>
        <source>演示账号：用户名 demo，申请人名称 演示用户。证书签发所需的签发码在审核通过邮件中；签发码、解锁码等邮件保存在 {outbox}</source>
        <translation>Demo account: user name demo, applicant name 演示用户. The issuance code that 证书签发 asks for is in the approval mail; mail such as issuance and unlock codes is saved in {outbox}</translation>
    </message>
    <message>
        <source>版本</source>
        <translation>Version</translation>
    </message>
    <message>
        <source>状态提示</source>
        <translation>Status</translation>
    </message>
    <message>
        <source>环境修复</source>
        <translation>Repair environment</translation>
    </message>
    <message>
        <source>用户信息</source>
        <translation>User information</translation>
    </message>
    <message>
        <source>用户名</source>
        <translation>User name</translation>
    </message>
    <message>
        <source>用户名：{username}&lt;br&gt;申请人名称：{name}&lt;br&gt;用户类型：{kind}&lt;br&gt;注册邮箱：{email}&lt;br&gt;登录方式：{how}</source>
        <translation>User name: {username}&lt;br&gt;Applicant name: {name}&lt;br&gt;Account type: {kind}&lt;br&gt;Registered email: {email}&lt;br&gt;Logged in by: {how}</translation>
    </message>
    <message>
        <source>申请人名称</source>
        <translation>Applicant name</translation>
    </message>
    <message>
        <source>界面语言</source>
        <translation>Language</translation>
    </message>
    <message>
        <source>登录</source>
        <translation>Log in</translation>
    </message>
    <message>
        <source>登录已失效，请重新登录。（{detail}）</source>
        <translation>Your login has expired, please log in again. ({detail})</translation>
    </message>
    <message>
        <source>登录成功：{name}</source>
        <translation>Logged in: {name}</translation>
    </message>
    <message>
        <source>确定</source>
        <translation>OK</translation>
    </message>
    <message>
        <source>确认</source>
        <translation>Confirm</translation>
    </message>
    <message>
        <source>确认备份密码</source>
        <translation>Confirm backup password</translation>
    </message>
    <message>
        <source>确认密码</source>
        <translation>Confirm PIN</translation>
    </message>
    <message>
        <source>确认新密码</source>
        <translation>Confirm new PIN</translation>
    </message>
    <message>
        <source>稍后</source>
        <translation>Later</translation>
    </message>
    <message>
        <source>签发码</source>
        <translation>Issuance code</translation>
    </message>
    <message>
        <source>签名算法</source>
        <translation>Signature algorithm</translation>
    </message>
    <message>
        <source>签名证书</source>
        <translation>signing certificate</translation>
    </message>
    <message>
        <source>签名证书详情</source>
        <translation>Signing certificate details</translation>
    </message>
    <message>
        <source>系统时间</source>
        <translation>System clock</translation>
    </message>
    <message>
        <source>结果</source>
        <translation>Result</translation>
    </message>
    <message>
        <source>继续上次未完成的申请</source>
        <translation>Resuming the unfinished request</translation>
    </message>
    <message>
        <source>网站证书登录</source>
        <translation>Web site certificate login</translation>
    </message>
    <message>
        <source>自然人</source>
        <translation>Natural person</translation>
    </message>
    <message>
        <source>至少10位，含大小写字母、数字、符号中的三类</source>
        <translation>At least 10 characters, 3 of: upper case, lower case, digits, symbols</translation>
    </message>
    <message>
        <source>获取失败</source>
        <translation>Not available</translation>
    </message>
    <message>
        <source>解锁成功</source>
        <translation>Unlocked</translation>
    </message>
    <message>
        <source>解锁码</source>
        <translation>Unlock code</translation>
    </message>
    <message>
        <source>解锁证书密码</source>
        <translation>Unlock certificate PIN</translation>
    </message>
    <message>
        <source>设置</source>
        <translation>Settings</translation>
    </message>
    <message>
        <source>设置已保存</source>
        <translation>Settings saved</translation>
    </message>
    <message>
        <source>证书</source>
        <translation>Certificate</translation>
    </message>
    <message>
        <source>证书“{subject}”已在本机的软证书 {serial} 中（见证书列表），无需恢复；忘记其证书密码时请使用「证书解锁」</source>
        <translation>The certificate “{subject}” is already in the soft certificate {serial} on this computer (see the certificate list), so there is nothing to restore; if you forgot its PIN, use “Unlock certificate”</translation>
    </message>
    <message>
        <source>证书与设备中的密钥不匹配，没有写入任何内容。请重试；如仍失败，请联系证书服务管理员。</source>
        <translation>The certificate does not match the key on the device; nothing was written. Try again; if it fails again, contact the certificate service's administrator.</translation>
    </message>
    <message>
        <source>证书使用者</source>
        <translation>Certificate subject</translation>
    </message>
    <message>
        <source>证书信息</source>
        <translation>Certificate information</translation>
    </message>
    <message>
        <source>证书列表</source>
        <translation>Certificates</translation>
    </message>
    <message>
        <source>证书到期提前提醒</source>
        <translation>Warn before expiry</translation>
    </message>
    <message>
        <source>证书助手</source>
        <translation>CertAssist</translation>
    </message>
    <message>
        <source>证书助手无法确认只运行了一个（{detail}），本次照常运行；再次启动时可能会打开第二个。</source>
        <translation>CertAssist cannot make sure that only one copy runs ({detail}). It runs normally now; starting it again may open a second copy.</translation>
    </message>
    <message>
        <source>证书助手正在处理操作，现在退出可能中断操作。是否仍要退出？</source>
        <translation>CertAssist is still working; quitting now may interrupt it. Quit anyway?</translation>
    </message>
    <message>
        <source>证书助手正在换发证书，请耐心等待</source>
        <translation>CertAssist is exchanging your certificate, please wait</translation>
    </message>
    <message>
        <source>证书助手正在更新证书，请耐心等待</source>
        <translation>CertAssist is updating your certificate, please wait</translation>
    </message>
    <message>
        <source>证书助手正在签发证书，请耐心等待</source>
        <translation>CertAssist is issuing your certificate, please wait</translation>
    </message>
    <message>
        <source>证书即将过期</source>
        <translation>Certificate about to expire</translation>
    </message>
    <message>
        <source>证书备份文件 (*.pfx *.p12)</source>
        <translation>Certificate backup files (*.pfx *.p12)</translation>
    </message>
    <message>
        <source>证书密码</source>
        <translation>Certificate PIN</translation>
    </message>
    <message>
        <source>证书废除</source>
        <translation>Revoke certificate</translation>
    </message>
    <message>
        <source>证书废除后将无法恢复。请输入证书密码确认废除。</source>
        <translation>A revoked certificate cannot be restored. Enter the certificate PIN to confirm.</translation>
    </message>
    <message>
        <source>证书废除成功</source>
        <translation>Certificate revoked</translation>
    </message>
    <message>
        <source>证书或密钥数据无效。请重新办理或联系技术支持。</source>
        <translation>The certificate or key data is invalid. Try again, or contact technical support.</translation>
    </message>
    <message>
        <source>证书换发</source>
        <translation>Exchange certificate</translation>
    </message>
    <message>
        <source>证书换发后原证书将被替换，PIN码保持不变。请输入该证书的证书密码！</source>
        <translation>The exchange replaces the old certificate and keeps the PIN. Enter this certificate's PIN!</translation>
    </message>
    <message>
        <source>证书换发成功</source>
        <translation>Certificate exchanged</translation>
    </message>
    <message>
        <source>证书文件 (*.cer *.crt *.der)</source>
        <translation>Certificate files (*.cer *.crt *.der)</translation>
    </message>
    <message>
        <source>证书文件完整性</source>
        <translation>Certificate file integrity</translation>
    </message>
    <message>
        <source>证书新密码</source>
        <translation>New certificate PIN</translation>
    </message>
    <message>
        <source>证书新签时，为了保证您的证书安全，请输入您的证书密码！</source>
        <translation>To protect your new certificate, enter your certificate PIN!</translation>
    </message>
    <message>
        <source>证书旧密码</source>
        <translation>Old certificate PIN</translation>
    </message>
    <message>
        <source>证书更新</source>
        <translation>Update certificate</translation>
    </message>
    <message>
        <source>证书更新成功</source>
        <translation>Certificate updated</translation>
    </message>
    <message>
        <source>证书更新成功，请使用新证书重新登录</source>
        <translation>Certificate renewed. Please log in again with the new certificate.</translation>
    </message>
    <message>
        <source>证书更新需要先使用「证书登录」</source>
        <translation>Update certificate needs a Certificate login first</translation>
    </message>
    <message>
        <source>证书更新需要验证您的证书密码，更新后PIN码保持不变</source>
        <translation>Updating needs your certificate PIN; the PIN stays the same afterwards</translation>
    </message>
    <message>
        <source>证书有效，还有{days}天到期</source>
        <translation>The certificate is valid for {days} more days</translation>
    </message>
    <message>
        <source>证书服务地址</source>
        <translation>Certificate service URL</translation>
    </message>
    <message>
        <source>证书服务地址 {url} 不安全：只能使用 https:// 地址（本机地址如 http://127.0.0.1 除外）。请在「设置 → 通用设置」中改为 https:// 开头的证书服务地址。</source>
        <translation>The certificate service URL {url} is not secure: only https:// URLs can be used (except addresses of this computer such as http://127.0.0.1). Enter a service URL starting with https:// in Settings → General.</translation>
    </message>
    <message>
        <source>证书服务地址应以 https:// 开头，例如 https://ca.example.cn</source>
        <translation>The certificate service URL must start with https://, for example https://ca.example.cn</translation>
    </message>
    <message>
        <source>证书服务地址必须使用 https://（只有本机地址如 http://127.0.0.1 可以使用 http://），请改正后保存</source>
        <translation>The certificate service URL must use https:// (only addresses of this computer such as http://127.0.0.1 may use http://). Correct it and save again.</translation>
    </message>
    <message>
        <source>证书服务已完成操作，但证书设备没能删除旧证书（可能已被拔出）。请重新插入USB Key后点击「确定」完成。</source>
        <translation>The certificate service has done its part, but the device could not remove the old certificate (it may have been pulled out). Insert the USB key again and click OK to finish.</translation>
    </message>
    <message>
        <source>证书服务正在启动…</source>
        <translation>The certificate service is starting…</translation>
    </message>
    <message>
        <source>证书服务的根证书还没有安装到本机用户的受信任根证书中；请点击「安装根证书」</source>
        <translation>The certificate service's root certificate is not yet among this user's trusted root certificates; click Install root certificate</translation>
    </message>
    <message>
        <source>证书服务返回 HTTP {status}</source>
        <translation>The certificate service answered HTTP {status}</translation>
    </message>
    <message>
        <source>证书服务返回的登录挑战格式不正确，已拒绝签名。请确认「设置 → 通用设置」中的证书服务地址正确。</source>
        <translation>The certificate service sent a login challenge of the wrong form; nothing was signed. Check the certificate service URL in Settings → General.</translation>
    </message>
    <message>
        <source>证书服务返回的证书与本设备的密钥不匹配，已放弃写入；请重试或联系管理员</source>
        <translation>The certificates from the service do not match this device's key, so nothing was written; try again or contact the administrator</translation>
    </message>
    <message>
        <source>证书服务连接</source>
        <translation>Certificate service connection</translation>
    </message>
    <message>
        <source>证书登录</source>
        <translation>Certificate login</translation>
    </message>
    <message>
        <source>证书签发</source>
        <translation>Issue certificate</translation>
    </message>
    <message>
        <source>证书签发操作成功</source>
        <translation>Certificate issued</translation>
    </message>
    <message>
        <source>证书签名</source>
        <translation>Certificate signing</translation>
    </message>
    <message>
        <source>证书解锁</source>
        <translation>Unlock certificate</translation>
    </message>
    <message>
        <source>证书设备</source>
        <translation>Certificate device</translation>
    </message>
    <message>
        <source>证书设备已被拔出，操作没有完成，原有证书没有丢失。请重新插入USB Key后重试。</source>
        <translation>The certificate device was pulled out before the operation finished; no certificate was lost. Insert the USB key again and retry.</translation>
    </message>
    <message>
        <source>证书设备操作失败。请重新插入设备后重试，或运行「环境修复」。</source>
        <translation>The certificate device operation failed. Insert the device again and retry, or run Repair environment.</translation>
    </message>
    <message>
        <source>证书设备类型 {backend} 无法使用，请运行「环境修复」查看详情</source>
        <translation>Certificate devices of type {backend} cannot be used; run Repair environment for details</translation>
    </message>
    <message>
        <source>该设备不支持国密SM2双证书所需的功能。请使用支持国密SM2的USB Key，或选择软证书。</source>
        <translation>This device lacks what SM2 dual certificates need. Use a USB key that supports SM2, or choose a soft certificate.</translation>
    </message>
    <message>
        <source>该账号当前不能签发新证书（需换发或已签发）</source>
        <translation>This account cannot receive a new certificate now (exchange needed or already issued)</translation>
    </message>
    <message>
        <source>该账号无需换发证书</source>
        <translation>This account needs no exchange</translation>
    </message>
    <message>
        <source>语言已切换，重新打开窗口后生效</source>
        <translation>Language changed; windows show it when opened again</translation>
    </message>
    <message>
        <source>说明</source>
        <translation>Notes</translation>
    </message>
    <message>
        <source>请先使用「证书登录」</source>
        <translation>Log in with your certificate first</translation>
    </message>
    <message>
        <source>请先使用「账号登录」</source>
        <translation>Log in with your account first</translation>
    </message>
    <message>
        <source>请先在列表中选择要备份的证书</source>
        <translation>Select the certificate to back up in the list first</translation>
    </message>
    <message>
        <source>请先输入PIN码</source>
        <translation>Enter the PIN first</translation>
    </message>
    <message>
        <source>请填写用户名和申请人名称（可从审核通过邮件中复制）</source>
        <translation>Enter the user name and applicant name (you can copy them from the approval email)</translation>
    </message>
    <message>
        <source>请您再次输入备份密码</source>
        <translation>Enter the backup password again</translation>
    </message>
    <message>
        <source>请您再次输入新的证书密码</source>
        <translation>Enter the new certificate PIN again</translation>
    </message>
    <message>
        <source>请您再次输入证书密码</source>
        <translation>Enter the certificate PIN again</translation>
    </message>
    <message>
        <source>请您确认证书新密码(6~20位)</source>
        <translation>Confirm the new certificate PIN (6-20 characters)</translation>
    </message>
    <message>
        <source>请您输入你获取的解锁码</source>
        <translation>Enter the unlock code you received</translation>
    </message>
    <message>
        <source>请您输入备份密码</source>
        <translation>Enter the backup password</translation>
    </message>
    <message>
        <source>请您输入新的证书密码(6~20位)</source>
        <translation>Enter a new certificate PIN (6-20 characters)</translation>
    </message>
    <message>
        <source>请您输入登录用户名</source>
        <translation>Enter your user name</translation>
    </message>
    <message>
        <source>请您输入登录申请人名称</source>
        <translation>Enter your applicant name</translation>
    </message>
    <message>
        <source>请您输入签发码或账号密码</source>
        <translation>Enter the issuance code or your account password</translation>
    </message>
    <message>
        <source>请您输入证书密码</source>
        <translation>Enter your certificate PIN</translation>
    </message>
    <message>
        <source>请您输入证书密码(6~20位)</source>
        <translation>Enter a certificate PIN (6-20 characters)</translation>
    </message>
    <message>
        <source>请您输入证书新密码(6~20位)</source>
        <translation>Enter the new certificate PIN (6-20 characters)</translation>
    </message>
    <message>
        <source>请您输入证书旧密码</source>
        <translation>Enter the old certificate PIN</translation>
    </message>
    <message>
        <source>请求网站</source>
        <translation>Requesting site</translation>
    </message>
    <message>
        <source>请登录，以便可以使用证书管理的功能</source>
        <translation>Please log in to manage your certificates</translation>
    </message>
    <message>
        <source>请输入右侧图片中的字符</source>
        <translation>Type the characters in the picture</translation>
    </message>
    <message>
        <source>请输入证书密码（PIN码）</source>
        <translation>Enter the certificate PIN</translation>
    </message>
    <message>
        <source>请输入验证码</source>
        <translation>Enter the captcha</translation>
    </message>
    <message>
        <source>请选择备份文件的保存位置</source>
        <translation>Choose where to save the backup file</translation>
    </message>
    <message>
        <source>请选择新证书保存的位置</source>
        <translation>Choose where to keep the new certificate</translation>
    </message>
    <message>
        <source>请选择要修改PIN码的证书或USB Key</source>
        <translation>Choose the certificate or USB key whose PIN to change</translation>
    </message>
    <message>
        <source>请选择要恢复的备份文件</source>
        <translation>Choose the backup file to restore</translation>
    </message>
    <message>
        <source>请选择要换发的证书</source>
        <translation>Choose the certificate to exchange</translation>
    </message>
    <message>
        <source>请选择要登录的证书</source>
        <translation>Choose the certificate to log in with</translation>
    </message>
    <message>
        <source>请选择证书</source>
        <translation>Choose a certificate</translation>
    </message>
    <message>
        <source>账号信息</source>
        <translation>Account</translation>
    </message>
    <message>
        <source>账号登录</source>
        <translation>Account login</translation>
    </message>
    <message>
        <source>软证书 {name}</source>
        <translation>Soft certificate {name}</translation>
    </message>
    <message>
        <source>软证书存储</source>
        <translation>Soft certificate storage</translation>
    </message>
    <message>
        <source>软证书文件在证书助手之外被修改过</source>
        <translation>The soft certificate file was changed outside CertAssist</translation>
    </message>
    <message>
        <source>软证书文件已损坏或不属于本机用户。请运行「环境修复」，或使用「证书签发」重新申请。</source>
        <translation>The soft certificate file is damaged or belongs to another user of this computer. Run Repair environment, or apply again with Issue certificate.</translation>
    </message>
    <message>
        <source>软证书文件被替换成了较早的副本</source>
        <translation>The soft certificate file was replaced by an earlier copy</translation>
    </message>
    <message>
        <source>软证书（保存在本机）</source>
        <translation>Soft certificate (kept on this computer)</translation>
    </message>
    <message>
        <source>输入的证书密码是您新的证书密码！将用于证书使用中的验证，请牢记！</source>
        <translation>The PIN you enter becomes your new certificate PIN! Please remember it!</translation>
    </message>
    <message>
        <source>输入签发码</source>
        <translation>Enter the issuance code</translation>
    </message>
    <message>
        <source>输入证书密码</source>
        <translation>Enter certificate PIN</translation>
    </message>
    <message>
        <source>这个文件中没有签名私钥，无法恢复证书（加密证书需与其签名证书一起恢复）</source>
        <translation>This file holds no signing key, so no certificate can be restored (an encryption certificate is restored together with its signing certificate)</translation>
    </message>
    <message>
        <source>这个文件中的加密私钥找不到对应的签名证书，无法恢复</source>
        <translation>The encryption key in this file has no matching signing certificate and cannot be restored</translation>
    </message>
    <message>
        <source>这个文件中的私钥不是SM2（国密）密钥，无法恢复为本软件的证书：{detail}</source>
        <translation>The private key in this file is not an SM2 (GM) key and cannot be restored as a certificate here: {detail}</translation>
    </message>
    <message>
        <source>这个文件使用了证书助手不支持的加密方式，请用其他方式重新导出：{detail}</source>
        <translation>This file is protected with a scheme CertAssist does not read; please export it again with another scheme: {detail}</translation>
    </message>
    <message>
        <source>这是最后一次尝试机会：如果PIN码输错，「{device}」的PIN码将被锁定，需要通过「证书解锁」才能继续使用。确定要提交吗？</source>
        <translation>This is the last try: if the PIN is wrong, the PIN of "{device}" locks and only Unlock certificate can open it again. Submit it?</translation>
    </message>
    <message>
        <source>这里显示的是客户端工具登录验证时的用户信息</source>
        <translation>The user information of the current login</translation>
    </message>
    <message>
        <source>连接成功：{url}</source>
        <translation>Connected: {url}</translation>
    </message>
    <message>
        <source>连续的数字或字母</source>
        <translation>an ascending or descending run</translation>
    </message>
    <message>
        <source>退出</source>
        <translation>Quit</translation>
    </message>
    <message>
        <source>退出登录</source>
        <translation>Log out</translation>
    </message>
    <message>
        <source>选择证书设备</source>
        <translation>Choose a certificate device</translation>
    </message>
    <message>
        <source>通用设置</source>
        <translation>General</translation>
    </message>
    <message>
        <source>部分USB Key驱动程序无法加载，请运行「环境修复」查看详情</source>
        <translation>Some USB key drivers cannot be loaded; run Repair environment for details</translation>
    </message>
    <message>
        <source>重新发送签发码</source>
        <translation>Send a new issuance code</translation>
    </message>
    <message>
        <source>重新检查</source>
        <translation>Check again</translation>
    </message>
    <message>
        <source>重置代理设置</source>
        <translation>Reset proxy settings</translation>
    </message>
    <message>
        <source>需处理</source>
        <translation>Action needed</translation>
    </message>
    <message>
        <source>需解锁用户：{holder}</source>
        <translation>Unlocking: {holder}</translation>
    </message>
    <message>
        <source>颁发者</source>
        <translation>Issuer</translation>
    </message>
    <message>
        <source>验证码</source>
        <translation>Captcha</translation>
    </message>
    <message>
        <source>验证码错误或已过期，已换一张新的验证码，请重新输入</source>
        <translation>Wrong or expired captcha. A new captcha is shown; please type it</translation>
    </message>
    <message>
        <source>（不支持国密SM2）</source>
        <translation> (no SM2 support)</translation>
    </message>
    <message>
        <source>（已保存）</source>
        <translation>(saved)</translation>
    </message>
    <message>
        <source>（未能连接证书服务：在证书服务记录新的解锁凭据之前，本证书无法使用「证书解锁」）</source>
        <translation> (The certificate service could not be reached: until it records the new unblock credential, "Unlock certificate" does not work for this certificate.)</translation>
    </message>
    <message>
        <source>（证书服务未能记录本次备份：{detail}）</source>
        <translation> (The certificate service did not record this backup: {detail})</translation>
    </message>
</context>
</TS>
