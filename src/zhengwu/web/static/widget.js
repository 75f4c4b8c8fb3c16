/*!
 * 政务助手 embeddable chat widget (zhengwu-assistant). Plain ES2018, no dependencies, no build step.
 *
 * Embed it on any page with one tag:
 *
 *   <script src="https://host/static/widget.js"
 *           data-api="https://host"       (API origin; default: the origin this script was loaded from)
 *           data-title="政务助手"          (panel title)
 *           data-region="广州市"           (optional: sent with every question as `region`)
 *           data-open="true"              (optional: open the panel on page load)
 *           data-user-token="…"           (optional: the city portal's signed token of a logged-in citizen)
 *           defer></script>
 *
 * The widget adds a floating button at the bottom right that opens a chat panel. It talks to
 * POST {api}/api/v1/chat/stream (Server-Sent Events read with fetch) and falls back to POST {api}/api/v1/chat
 * when the stream endpoint is missing. The conversation's session_id is kept in sessionStorage, so follow-up
 * questions ("电话呢？") stay in the same session while the tab is open.
 *
 * Under each answer, 👍 / 👎 buttons ("有帮助" / "没帮助") and the five 好差评 levels (非常满意, 满意, 基本满意, 不满意,
 * 非常不满意) rate it through POST {api}/api/v1/feedback (turn_id and session_id of the answer; `value` for a thumb,
 * which the service records as 满意 / 不满意, `level` 5-1 for a level); the rating is kept with the message, and a
 * later click replaces it.
 *
 * Everything lives in a Shadow DOM (classes prefixed `zw-` as well), so the host page's CSS does not leak in.
 * Answer text is never inserted as HTML: nodes are built with textContent, and only http(s) URLs become links.
 * A citizen logged in through the city portal (data-user-token, or ZhengwuWidget.signIn(token)) gets a "我的信息"
 * button: whether personalisation is on, a switch for it, export and deletion of their data (PIPL Art. 44–47),
 * each confirmed in Chinese, through POST {api}/api/v1/me/*. The token is kept in memory only.
 *
 * A small API is exposed as window.ZhengwuWidget: open(), close(), toggle(), ask(question), reset(),
 * signIn(token), signOut(); and the
 * page receives `zhengwu:answer` / `zhengwu:error` / `zhengwu:feedback` DOM events (detail: question, answer or
 * message; turn_id, value and level) on document.
 */
(function () {
  'use strict';

  if (window.ZhengwuWidget) return; // included twice

  var script = document.currentScript || (function () {
    var all = document.querySelectorAll('script[src*="widget.js"]');
    return all.length ? all[all.length - 1] : null;
  })();

  var HOTLINE_HINT = '如需人工服务，请拨打 12345 政务服务便民热线';
  var PLACEHOLDER = '请输入您的问题，例如：办居住证要带什么材料？';
  var MAX_STORED_MESSAGES = 40;
  var THUMB_UP = ['M7 10v12', 'M15 5.88 14 10h5.83a2 2 0 0 1 1.92 2.56l-2.33 8A2 2 0 0 1 17.5 22H4a2 2 0 0 1-2-2v-8a2 2 0 0 1 2-2h2.76a2 2 0 0 0 1.79-1.11L12 2a3.13 3.13 0 0 1 3 3.88Z'];
  var LEVELS = [[5, '非常满意'], [4, '满意'], [3, '基本满意'], [2, '不满意'], [1, '非常不满意']]; // 好差评
  var THUMB_DOWN = ['M17 14V2', 'M9 18.12 10 14H4.17a2 2 0 0 1-1.92-2.56l2.33-8A2 2 0 0 1 6.5 2H20a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2h-2.76a2 2 0 0 0-1.79 1.11L12 22a3.13 3.13 0 0 1-3-3.88Z'];

  function attr(name) {
    return script ? script.getAttribute('data-' + name) : null;
  }

  function scriptOrigin() {
    try {
      if (script && script.src) return new URL(script.src, location.href).origin;
    } catch (e) { /* fall through */ }
    return location.origin;
  }

  var config = {
    api: (attr('api') || scriptOrigin()).replace(/\/+$/, ''),
    title: (attr('title') || '政务助手').trim() || '政务助手',
    region: (attr('region') || '').trim() || null,
    open: (attr('open') || '').toLowerCase() === 'true',
    userToken: (attr('user-token') || '').trim() || null
  };
  var STORAGE_KEY = 'zw-chat:' + config.api;

  // ---------------------------------------------------------------------------------------------- storage
  function loadState() {
    try {
      var raw = window.sessionStorage.getItem(STORAGE_KEY);
      var state = raw ? JSON.parse(raw) : null;
      if (state && typeof state === 'object' && Array.isArray(state.messages)) return state;
    } catch (e) { /* storage blocked or corrupt */ }
    return { sessionId: null, messages: [] };
  }

  function saveState() {
    try {
      state.messages = state.messages.slice(-MAX_STORED_MESSAGES);
      window.sessionStorage.setItem(STORAGE_KEY, JSON.stringify(state));
    } catch (e) { /* storage blocked or full: the widget still works for this page */ }
  }

  var state = loadState();

  // ------------------------------------------------------------------------------------------------ styles
  var CSS = [
    ':host{all:initial;}',
    '.zw-root{--zw-primary:#1458b8;--zw-primary-dark:#0e4390;--zw-bg:#f4f6fa;--zw-border:#d8dee9;',
    '  --zw-text:#1f2937;--zw-muted:#5b6577;',
    '  font-family:system-ui,-apple-system,"PingFang SC","Hiragino Sans GB","Microsoft YaHei","Noto Sans CJK SC",',
    '  "Source Han Sans SC","WenQuanYi Micro Hei",sans-serif;font-size:15px;line-height:1.6;color:var(--zw-text);',
    '  -webkit-text-size-adjust:100%;text-align:left;}',
    '.zw-root *,.zw-root *::before,.zw-root *::after{box-sizing:border-box;}',
    // :where() keeps these resets at the specificity of one class, so the component rules below win.
    '.zw-root :where(button,textarea){font:inherit;color:inherit;}',
    '.zw-sr-only{position:absolute!important;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;',
    '  clip:rect(0,0,0,0);white-space:nowrap;border:0;}',
    '.zw-bubble{position:fixed;right:20px;bottom:20px;z-index:2147483000;display:inline-flex;align-items:center;',
    '  gap:8px;height:52px;padding:0 20px 0 16px;border:0;border-radius:26px;background:var(--zw-primary);',
    '  color:#fff;font-size:16px;font-weight:600;cursor:pointer;box-shadow:0 6px 20px rgba(20,88,184,.35);',
    '  transition:background .15s,transform .15s;}',
    '.zw-bubble:hover{background:var(--zw-primary-dark);transform:translateY(-1px);}',
    '.zw-bubble svg{width:24px;height:24px;flex:none;}',
    '.zw-root button:focus-visible,.zw-root a:focus-visible,.zw-messages:focus-visible{',
    '  outline:3px solid #f0a202;outline-offset:2px;}',
    '.zw-panel{position:fixed;right:20px;bottom:84px;z-index:2147483001;width:380px;max-width:calc(100vw - 40px);',
    '  height:600px;max-height:calc(100vh - 104px);display:flex;flex-direction:column;background:#fff;',
    '  border:1px solid var(--zw-border);border-radius:14px;overflow:hidden;box-shadow:0 12px 40px rgba(15,30,60,.25);}',
    '.zw-panel[hidden]{display:none;}',
    '.zw-header{display:flex;align-items:center;gap:8px;padding:12px 12px 12px 16px;background:var(--zw-primary);color:#fff;}',
    '.zw-title{flex:1;margin:0;font-size:17px;font-weight:600;line-height:1.3;}',
    '.zw-subtitle{display:block;font-size:12px;font-weight:400;opacity:.85;}',
    '.zw-icon-btn{display:inline-flex;align-items:center;justify-content:center;min-width:36px;height:36px;',
    '  padding:0 8px;border:0;border-radius:8px;background:transparent;color:#fff;cursor:pointer;font-size:13px;}',
    '.zw-icon-btn:hover{background:rgba(255,255,255,.18);}',
    '.zw-icon-btn svg{width:20px;height:20px;}',
    '.zw-messages{flex:1;overflow-y:auto;padding:16px 14px;background:var(--zw-bg);overscroll-behavior:contain;}',
    '.zw-msg{display:flex;margin:0 0 12px;}',
    '.zw-msg-user{justify-content:flex-end;}',
    '.zw-card{max-width:88%;padding:10px 13px;border-radius:12px;white-space:pre-wrap;overflow-wrap:anywhere;',
    '  word-break:break-word;}',
    '.zw-msg-user .zw-card{background:var(--zw-primary);color:#fff;border-bottom-right-radius:4px;}',
    '.zw-msg-bot .zw-card{background:#fff;border:1px solid var(--zw-border);border-bottom-left-radius:4px;}',
    '.zw-msg-clarify .zw-card{background:#fff8e6;border-color:#f3d58a;}',
    '.zw-msg-refused .zw-card{background:#fff;border-color:#e7c3c3;}',
    '.zw-msg-error .zw-card{background:#fdecec;border-color:#f0b4b4;color:#8a1f1f;}',
    '.zw-label{display:block;margin-bottom:2px;font-size:12px;color:#8a6d1f;}',
    '.zw-text{white-space:pre-wrap;}',
    '.zw-cite{display:inline-block;margin:0 1px;padding:0 3px;border-radius:4px;background:#e6eefb;',
    '  color:var(--zw-primary-dark);font-size:12px;line-height:1.5;text-decoration:none;vertical-align:1px;}',
    '.zw-cite:hover{background:#cfdff8;text-decoration:underline;}',
    '.zw-sources{margin-top:10px;padding-top:8px;border-top:1px dashed var(--zw-border);white-space:normal;font-size:13px;}',
    '.zw-sources-title{margin:0 0 4px;font-size:13px;font-weight:600;color:var(--zw-muted);}',
    '.zw-sources ol{margin:0;padding:0;list-style:none;}',
    '.zw-sources li{margin:2px 0;}',
    '.zw-sources a{color:var(--zw-primary);text-decoration:none;}',
    '.zw-sources a:hover{text-decoration:underline;}',
    '.zw-source-n{color:var(--zw-muted);margin-right:4px;}',
    '.zw-source-region{margin-left:6px;padding:0 5px;border-radius:4px;background:#eef1f6;color:var(--zw-muted);font-size:12px;}',
    '.zw-source-date{margin-left:6px;color:var(--zw-muted);font-size:12px;}',
    '.zw-account{padding:10px 14px;border-bottom:1px solid #e3e7ee;background:#f7f9fc;font-size:13px;}',
    '.zw-account[hidden],.zw-account-btn[hidden]{display:none;}',
    '.zw-account-row{display:flex;align-items:center;gap:8px;cursor:pointer;}',
    '.zw-account-actions{display:flex;gap:8px;margin-top:8px;}',
    '.zw-account-action{font:inherit;padding:4px 10px;border:1px solid #c9d1dd;border-radius:6px;background:#fff;cursor:pointer;}',
    '.zw-delete{color:#b42318;border-color:#f0b3ad;}',
    '.zw-account-note{margin:6px 0 0;color:var(--zw-muted);min-height:1em;}',
    '.zw-feedback{display:flex;align-items:center;flex-wrap:wrap;gap:6px;margin-top:8px;white-space:normal;font-size:12px;color:var(--zw-muted);}',
    '.zw-fb{display:inline-flex;align-items:center;justify-content:center;gap:4px;height:28px;padding:0 10px;',
    '  border:1px solid var(--zw-border);border-radius:14px;background:#fff;color:var(--zw-muted);cursor:pointer;font-size:12px;line-height:1;}',
    '.zw-fb svg{width:14px;height:14px;flex:none;}',
    '.zw-fb:hover{background:#eef3fb;}',
    '.zw-fb[aria-pressed="true"]{background:#e6eefb;border-color:var(--zw-primary);color:var(--zw-primary-dark);box-shadow:0 0 0 1px var(--zw-primary) inset;}',
    '.zw-fb[disabled]{cursor:progress;opacity:.7;}',
    '.zw-levels{display:flex;align-items:center;flex-wrap:wrap;gap:4px;margin-top:6px;white-space:normal;font-size:12px;color:var(--zw-muted);}',
    '.zw-level{height:24px;padding:0 8px;border:1px solid var(--zw-border);border-radius:12px;background:#fff;',
    '  color:var(--zw-muted);cursor:pointer;font-size:12px;line-height:1;}',
    '.zw-level:hover{background:#eef3fb;}',
    '.zw-level[aria-pressed="true"]{background:#e6eefb;border-color:var(--zw-primary);color:var(--zw-primary-dark);box-shadow:0 0 0 1px var(--zw-primary) inset;}',
    '.zw-level[disabled]{cursor:progress;opacity:.7;}',
    '.zw-fb-note{min-height:1em;}',
    '.zw-hint{margin-top:10px;padding:6px 10px;border-radius:8px;background:#fff3f0;color:#9a3412;white-space:normal;font-size:13px;}',
    '.zw-pending{color:var(--zw-muted);}',
    '.zw-dots::after{content:"";display:inline-block;width:1.2em;text-align:left;animation:zw-dots 1.2s steps(4,end) infinite;}',
    '@keyframes zw-dots{0%{content:""}25%{content:"·"}50%{content:"··"}75%{content:"···"}}',
    '.zw-form{display:flex;align-items:flex-end;gap:8px;padding:10px 12px;border-top:1px solid var(--zw-border);background:#fff;}',
    '.zw-input{flex:1;min-height:42px;max-height:120px;padding:9px 11px;border:1px solid var(--zw-border);border-radius:10px;',
    '  resize:none;background:#fff;line-height:1.5;font-size:15px;}',
    '.zw-input:focus{border-color:var(--zw-primary);outline:none;box-shadow:0 0 0 3px rgba(20,88,184,.3);}',
    '.zw-send{flex:none;height:42px;padding:0 18px;border:0;border-radius:10px;background:var(--zw-primary);color:#fff;',
    '  font-weight:600;cursor:pointer;}',
    '.zw-send:hover{background:var(--zw-primary-dark);}',
    '.zw-send[disabled]{background:#9fb3d3;cursor:not-allowed;}',
    '.zw-footnote{margin:0;padding:0 12px 8px;background:#fff;color:var(--zw-muted);font-size:11px;line-height:1.4;}',
    '@media (max-width:480px){',
    '  .zw-panel{top:0;right:0;bottom:0;left:0;width:100%;max-width:none;height:100%;max-height:none;border:0;border-radius:0;}',
    '  .zw-bubble{right:14px;bottom:14px;}',
    '  .zw-card{max-width:92%;}',
    '  .zw-input{font-size:16px;}', // 16px keeps iOS Safari from zooming in on focus
    '}',
    '@media (prefers-reduced-motion:reduce){.zw-bubble{transition:none}.zw-dots::after{animation:none;content:"…"}}'
  ].join('\n');

  // ------------------------------------------------------------------------------------------------- DOM
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = text;
    return node;
  }

  function svgIcon(paths) {
    var ns = 'http://www.w3.org/2000/svg';
    var svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('fill', 'none');
    svg.setAttribute('stroke', 'currentColor');
    svg.setAttribute('stroke-width', '2');
    svg.setAttribute('stroke-linecap', 'round');
    svg.setAttribute('stroke-linejoin', 'round');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    paths.forEach(function (d) {
      var p = document.createElementNS(ns, 'path');
      p.setAttribute('d', d);
      svg.appendChild(p);
    });
    return svg;
  }

  function safeUrl(url) {
    return typeof url === 'string' && /^https?:\/\//i.test(url.trim()) ? url.trim() : null;
  }

  var uid = 'zw-' + Math.random().toString(36).slice(2, 8);
  var host, root, bubble, panel, list, input, send, status, busy = false;
  var accountBtn, account, accountSwitch, accountNote;

  function build() {
    host = document.createElement('div');
    host.id = 'zw-widget-host';
    host.setAttribute('data-zw-widget', '');
    var mount = host.attachShadow ? host.attachShadow({ mode: 'open' }) : host;
    var style = el('style');
    style.textContent = CSS.replace(':host{all:initial;}', host.attachShadow ? ':host{all:initial;}' : '');
    mount.appendChild(style);

    root = el('div', 'zw-root');
    mount.appendChild(root);

    bubble = el('button', 'zw-bubble');
    bubble.type = 'button';
    bubble.setAttribute('aria-label', '打开' + config.title);
    bubble.setAttribute('aria-expanded', 'false');
    bubble.setAttribute('aria-controls', uid + '-panel');
    bubble.appendChild(svgIcon(['M21 12a8 8 0 0 1-11.6 7.1L4 20l1-4.4A8 8 0 1 1 21 12z', 'M8.5 12h.01M12 12h.01M15.5 12h.01']));
    bubble.appendChild(el('span', 'zw-bubble-text', config.title));
    bubble.addEventListener('click', function () { toggle(); });
    root.appendChild(bubble);

    panel = el('section', 'zw-panel');
    panel.id = uid + '-panel';
    panel.hidden = true;
    panel.setAttribute('role', 'dialog');
    panel.setAttribute('aria-labelledby', uid + '-title');

    var header = el('div', 'zw-header');
    var title = el('h2', 'zw-title', config.title);
    title.id = uid + '-title';
    title.appendChild(el('span', 'zw-subtitle', config.region ? config.region + ' · 办事指南与政策咨询' : '办事指南与政策咨询'));
    var reset = el('button', 'zw-icon-btn', '新对话');
    reset.type = 'button';
    reset.setAttribute('aria-label', '开始新对话');
    reset.addEventListener('click', function () { resetConversation(); input.focus(); });
    var close = el('button', 'zw-icon-btn zw-close');
    close.type = 'button';
    close.setAttribute('aria-label', '关闭' + config.title);
    close.appendChild(svgIcon(['M6 6l12 12', 'M18 6L6 18']));
    close.addEventListener('click', function () { closePanel(true); });
    accountBtn = el('button', 'zw-icon-btn zw-account-btn', '我的信息');
    accountBtn.type = 'button';
    accountBtn.hidden = !config.userToken;
    accountBtn.setAttribute('aria-expanded', 'false');
    accountBtn.setAttribute('aria-controls', uid + '-account');
    accountBtn.addEventListener('click', function () { toggleAccount(); });
    header.appendChild(title);
    header.appendChild(accountBtn);
    header.appendChild(reset);
    header.appendChild(close);

    list = el('div', 'zw-messages');
    list.setAttribute('role', 'log');
    list.setAttribute('aria-live', 'polite');
    list.setAttribute('aria-label', '对话内容');
    list.tabIndex = 0; // scrollable region must be reachable by keyboard

    status = el('div', 'zw-sr-only');
    status.setAttribute('role', 'status');

    var form = el('form', 'zw-form');
    form.setAttribute('novalidate', '');
    var label = el('label', 'zw-sr-only', '输入您的问题');
    label.htmlFor = uid + '-input';
    input = el('textarea', 'zw-input');
    input.id = uid + '-input';
    input.rows = 1;
    input.placeholder = PLACEHOLDER;
    input.setAttribute('aria-describedby', uid + '-note');
    input.setAttribute('enterkeyhint', 'send');
    send = el('button', 'zw-send', '发送');
    send.type = 'submit';
    send.setAttribute('aria-label', '发送问题');
    form.appendChild(label);
    form.appendChild(input);
    form.appendChild(send);
    form.addEventListener('submit', function (e) { e.preventDefault(); submit(); });
    input.addEventListener('keydown', function (e) {
      // Enter sends, Shift+Enter is a newline; never send while an IME is composing (拼音 candidates use Enter).
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
        e.preventDefault();
        submit();
      }
    });
    input.addEventListener('input', autosize);

    var note = el('p', 'zw-footnote', '回答依据已收录的公开政务资料自动生成，仅供参考，请以办理部门最新规定为准。');
    note.id = uid + '-note';

    panel.appendChild(header);
    panel.appendChild(buildAccount());
    panel.appendChild(list);
    panel.appendChild(status);
    panel.appendChild(form);
    panel.appendChild(note);
    panel.addEventListener('keydown', function (e) {
      if (e.key === 'Escape' || e.key === 'Esc') {
        e.preventDefault();
        e.stopPropagation();
        closePanel(true);
      }
    });
    root.appendChild(panel);

    renderHistory();
    document.body.appendChild(host);
  }

  function autosize() {
    input.style.height = 'auto';
    input.style.height = Math.min(input.scrollHeight + 2, 120) + 'px';
  }

  // ---------------------------------------------------------------------------------------- open / close
  function openPanel() {
    panel.hidden = false;
    bubble.setAttribute('aria-expanded', 'true');
    bubble.setAttribute('aria-label', '收起' + config.title);
    scrollToEnd(true);
    input.focus();
  }

  function closePanel(returnFocus) {
    panel.hidden = true;
    bubble.setAttribute('aria-expanded', 'false');
    bubble.setAttribute('aria-label', '打开' + config.title);
    if (returnFocus) bubble.focus();
  }

  function toggle() {
    if (panel.hidden) openPanel(); else closePanel(true);
  }

  function nearBottom() {
    return list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  }

  function scrollToEnd(force) {
    if (force || nearBottom()) list.scrollTop = list.scrollHeight;
  }

  // --------------------------------------------------------------------------------------------- messages
  function addMessage(kind) {
    var row = el('div', 'zw-msg zw-msg-' + kind);
    var card = el('div', 'zw-card');
    row.appendChild(card);
    list.appendChild(row);
    return { row: row, card: card };
  }

  function addUser(text) {
    var m = addMessage('user');
    m.card.appendChild(el('span', 'zw-sr-only', '我：'));
    m.card.appendChild(document.createTextNode(text));
    return m;
  }

  function welcome() {
    var m = addMessage('bot');
    m.card.textContent = '您好！我是' + config.title + '，可以为您解答办事指南和政策法规方面的问题，' +
      '例如所需材料、办理地点、办理时限、咨询电话等。回答仅依据已收录的官方资料，并附参考来源。';
  }

  /** Answer text with [n] markers turned into links to citations[n-1]; everything else stays plain text. */
  function renderText(target, text, citations) {
    var byN = {};
    (citations || []).forEach(function (c) { if (c && c.n != null) byN[String(c.n)] = c; });
    var re = /\[(\d{1,3})\]/g;
    var last = 0, match;
    text = String(text == null ? '' : text);
    while ((match = re.exec(text)) !== null) {
      var c = byN[match[1]];
      var url = c && safeUrl(c.source_url);
      if (!url) continue;
      if (match.index > last) target.appendChild(document.createTextNode(text.slice(last, match.index)));
      var a = el('a', 'zw-cite', match[0]);
      a.href = url;
      a.target = '_blank';
      a.rel = 'noopener noreferrer';
      var label = '来源' + match[1] + '：' + (c.title || '') + (c.section ? ' · ' + c.section : '');
      a.title = label;
      a.setAttribute('aria-label', label + '（在新窗口打开）');
      target.appendChild(a);
      last = re.lastIndex;
    }
    if (last < text.length) target.appendChild(document.createTextNode(text.slice(last)));
  }

  function renderSources(card, citations) {
    if (!citations || !citations.length) return;
    var box = el('div', 'zw-sources');
    box.appendChild(el('p', 'zw-sources-title', '参考来源'));
    var ol = el('ol');
    citations.forEach(function (c) {
      if (!c) return;
      var li = el('li');
      li.appendChild(el('span', 'zw-source-n', '[' + c.n + ']'));
      var label = (c.title || '未命名资料') + (c.section ? ' · ' + c.section : '');
      var url = safeUrl(c.source_url);
      if (url) {
        var a = el('a', '', label);
        a.href = url;
        a.target = '_blank';
        a.rel = 'noopener noreferrer';
        a.setAttribute('aria-label', label + '（在新窗口打开）');
        li.appendChild(a);
      } else {
        li.appendChild(el('span', '', label));
      }
      if (c.region) li.appendChild(el('span', 'zw-source-region', c.region));
      if (c.updated) li.appendChild(el('span', 'zw-source-date', '更新于 ' + c.updated));
      ol.appendChild(li);
    });
    box.appendChild(ol);
    card.appendChild(box);
  }

  /** Replace a bot card's content with a final answer ({text, status, citations}). */
  function renderAnswer(m, answer) {
    var kind = answer.status === 'refused' ? 'refused' : answer.status === 'clarify' ? 'clarify' : 'answered';
    m.row.className = 'zw-msg zw-msg-bot zw-msg-' + kind;
    m.row.setAttribute('data-status', answer.status || '');
    m.card.textContent = '';
    if (kind === 'clarify') m.card.appendChild(el('span', 'zw-label', '请补充一下'));
    var body = el('div', 'zw-text');
    renderText(body, answer.text, answer.citations);
    m.card.appendChild(body);
    if (kind !== 'clarify') renderSources(m.card, answer.citations);
    if (kind === 'refused') {
      var hint = el('p', 'zw-hint', HOTLINE_HINT);
      hint.setAttribute('data-zw-hint', 'hotline');
      m.card.appendChild(hint);
    }
    if (kind !== 'clarify' && typeof answer.turn_id === 'number') renderFeedback(m.card, answer);
  }

  /** 👍 / 👎 and the five 好差评 levels under an answer. `record` is the stored message: its `feedback` (the
   *  thumbs value) and `level` survive a page reload. */
  function renderFeedback(card, record) {
    var bar = el('div', 'zw-feedback');
    bar.setAttribute('role', 'group');
    bar.setAttribute('aria-label', '这条回答对您有帮助吗？');
    bar.appendChild(el('span', 'zw-fb-question', '这条回答有帮助吗？'));
    var note = el('span', 'zw-fb-note');
    note.setAttribute('role', 'status');
    var controls = { thumbs: [], levels: [] };
    // 👍 / 👎 drawn as SVG: an office PC without a colour-emoji font would show empty boxes.
    [[1, THUMB_UP, '有帮助'], [-1, THUMB_DOWN, '没帮助']].forEach(function (spec) {
      var b = el('button', 'zw-fb ' + (spec[0] > 0 ? 'zw-fb-up' : 'zw-fb-down'));
      b.type = 'button';
      b.appendChild(svgIcon(spec[1]));
      b.appendChild(el('span', '', spec[2]));
      b.setAttribute('aria-label', spec[2]);
      b.setAttribute('data-value', String(spec[0]));
      b.addEventListener('click', function () { sendFeedback(record, { value: spec[0] }, controls, note); });
      bar.appendChild(b);
      controls.thumbs.push(b);
    });
    var levels = el('div', 'zw-levels');
    levels.setAttribute('role', 'group');
    levels.setAttribute('aria-label', '满意度评价（好差评）');
    levels.appendChild(el('span', 'zw-fb-question', '满意度：'));
    LEVELS.forEach(function (spec) {
      var b = el('button', 'zw-level', spec[1]);
      b.type = 'button';
      b.setAttribute('data-level', String(spec[0]));
      b.addEventListener('click', function () { sendFeedback(record, { level: spec[0] }, controls, note); });
      levels.appendChild(b);
      controls.levels.push(b);
    });
    bar.appendChild(note);
    showRating(record, controls);
    card.appendChild(bar);
    card.appendChild(levels);
  }

  /** Mark the thumb and the level the stored rating has (a thumb is 满意 or 不满意). */
  function showRating(record, controls) {
    var level = typeof record.level === 'number' ? record.level : record.feedback === 1 ? 4 : record.feedback === -1 ? 2 : null;
    var value = level == null ? null : level >= 4 ? 1 : level <= 2 ? -1 : 0;
    controls.thumbs.forEach(function (b) { b.setAttribute('aria-pressed', String(b.getAttribute('data-value')) === String(value) ? 'true' : 'false'); });
    controls.levels.forEach(function (b) { b.setAttribute('aria-pressed', b.getAttribute('data-level') === String(level) ? 'true' : 'false'); });
  }

  async function sendFeedback(record, rating, controls, note) {
    var all = controls.thumbs.concat(controls.levels);
    all.forEach(function (b) { b.disabled = true; });
    try {
      var payload = { turn_id: record.turn_id, session_id: state.sessionId || null };
      if (rating.level) payload.level = rating.level; else payload.value = rating.value;
      var resp = await post('/api/v1/feedback', payload);
      if (!resp.ok) throw await httpError(resp);
      var body = null;
      try { body = await resp.json(); } catch (e) { /* an older service: what was sent stands */ }
      var level = body && typeof body.level === 'number' ? body.level : rating.level || (rating.value > 0 ? 4 : 2);
      record.level = level;
      record.feedback = level >= 4 ? 1 : level <= 2 ? -1 : 0;
      saveState();
      showRating(record, controls);
      note.textContent = level <= 2 ? '感谢反馈，我们会改进这个回答。' : '感谢您的反馈！';
      notify('zhengwu:feedback', { turn_id: record.turn_id, value: record.feedback, level: level });
    } catch (err) {
      note.textContent = err instanceof HttpError && err.message ? err.message : '评价未能提交，请稍后再试。';
    } finally {
      all.forEach(function (b) { b.disabled = false; });
    }
  }

  function renderError(m, message) {
    m.row.className = 'zw-msg zw-msg-bot zw-msg-error';
    m.row.setAttribute('data-status', 'error');
    m.card.textContent = message;
  }

  function renderHistory() {
    list.textContent = '';
    welcome();
    state.messages.forEach(function (msg) {
      if (msg.role === 'user') addUser(msg.text);
      else if (msg.role === 'bot') renderAnswer(addMessage('bot'), msg);
    });
  }

  function resetConversation() {
    if (busy) return;
    state = { sessionId: null, messages: [] };
    saveState();
    renderHistory();
    status.textContent = '已开始新对话';
  }

  // ------------------------------------------------------------------------------------------------ network
  function HttpError(status, message) {
    this.status = status;
    this.message = message;
  }

  function errorMessage(err) {
    if (err instanceof HttpError) return err.message;
    return '网络连接异常，暂时无法获取回答，请检查网络后重试。';
  }

  async function httpError(resp) {
    if (resp.status === 429) {
      var wait = parseInt(resp.headers.get('Retry-After') || '', 10);
      return new HttpError(429, '请求过于频繁，请稍后再试' + (wait > 0 ? '（约 ' + wait + ' 秒后）。' : '。'));
    }
    var detail = null;
    try {
      var body = await resp.json();
      if (body && typeof body.message === 'string') detail = body.message;
    } catch (e) { /* not JSON */ }
    if (resp.status >= 500) return new HttpError(resp.status, '服务暂时不可用，请稍后再试（错误代码 ' + resp.status + '）。');
    if (resp.status === 422 || resp.status === 400) return new HttpError(resp.status, detail || '问题格式不正确，请修改后重试。');
    return new HttpError(resp.status, detail || '请求失败（错误代码 ' + resp.status + '），请稍后再试。');
  }

  function post(path, payload) {
    return fetch(config.api + path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Accept': path.slice(-7) === '/stream' ? 'text/event-stream' : 'application/json' },
      body: JSON.stringify(payload),
      credentials: 'omit',
      cache: 'no-store'
    });
  }

  /** Parse one SSE block ("event: x\ndata: {...}") into {event, data}. */
  function parseEvent(block) {
    var event = 'message', data = [];
    block.split('\n').forEach(function (line) {
      if (!line || line.charAt(0) === ':') return;
      var i = line.indexOf(':');
      var field = i < 0 ? line : line.slice(0, i);
      var value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    });
    if (!data.length) return null;
    try {
      return { event: event, data: JSON.parse(data.join('\n')) };
    } catch (e) {
      return null;
    }
  }

  /** Ask over SSE; onDelta(piece) for each piece. Resolves with the final answer JSON. */
  async function askStream(payload, onDelta, onReset) {
    var resp = await post('/api/v1/chat/stream', payload);
    if (resp.status === 404 || resp.status === 405) return askPlain(payload);
    if (!resp.ok) throw await httpError(resp);
    var type = resp.headers.get('Content-Type') || '';
    if (type.indexOf('application/json') >= 0) return resp.json();
    if (!resp.body || !resp.body.getReader) return handleBlocks(await resp.text(), onDelta, true, onReset);

    var reader = resp.body.getReader();
    var decoder = new TextDecoder('utf-8');
    var buffer = '';
    for (;;) {
      var chunk = await reader.read();
      if (chunk.done) break;
      buffer += decoder.decode(chunk.value, { stream: true });
      buffer = buffer.replace(/\r\n?/g, '\n');
      var cut = buffer.lastIndexOf('\n\n');
      if (cut < 0) continue;
      var complete = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      var final = handleBlocks(complete, onDelta, false, onReset);
      if (final) {
        try { reader.cancel(); } catch (e) { /* already closed */ }
        return final;
      }
    }
    buffer += decoder.decode();
    return handleBlocks(buffer.replace(/\r\n?/g, '\n'), onDelta, true, onReset);
  }

  /** Handle complete SSE blocks; returns the final answer on `done`, throws on `error`. `reset` means the
   *  pieces shown so far failed verification: discard them, the grounded answer follows. */
  function handleBlocks(text, onDelta, atEnd, onReset) {
    var blocks = text.split(/\n\n+/);
    for (var i = 0; i < blocks.length; i++) {
      var ev = parseEvent(blocks[i]);
      if (!ev) continue;
      if (ev.event === 'delta' && ev.data && typeof ev.data.text === 'string') onDelta(ev.data.text);
      else if (ev.event === 'reset') { if (onReset) onReset(); }
      else if (ev.event === 'done') return ev.data;
      else if (ev.event === 'error') {
        var said = ev.data && typeof ev.data.message === 'string' ? ev.data.message : '';
        // Show the server's message only when it is written for people (Chinese), not a stack-trace fragment.
        throw new HttpError(0, /[\u4e00-\u9fff]/.test(said) && said.length <= 200 ? said : '抱歉，处理您的问题时出错了，请稍后再试。');
      }
    }
    if (atEnd) throw new HttpError(0, '回答中断了，请稍后重试。');
    return null;
  }

  async function askPlain(payload) {
    var resp = await post('/api/v1/chat', payload);
    if (!resp.ok) throw await httpError(resp);
    return resp.json();
  }

  /** Tell the host page (analytics, tests): events bubble from the host element <div id="zw-widget-host">. */
  function notify(name, detail) {
    try {
      host.dispatchEvent(new CustomEvent(name, { detail: detail, bubbles: true }));
    } catch (e) { /* old browser */ }
  }

  // ---------------------------------------------------------------------------------------------- submit
  async function submit(text) {
    var question = (text != null ? String(text) : input.value).trim();
    if (!question || busy) return;
    busy = true;
    send.disabled = true;
    if (text == null) { input.value = ''; autosize(); }

    addUser(question);
    state.messages.push({ role: 'user', text: question });
    saveState();

    var m = addMessage('bot');
    m.row.setAttribute('data-status', 'pending');
    var pending = el('span', 'zw-pending zw-dots', '正在查询');
    m.card.appendChild(pending);
    m.card.appendChild(el('span', 'zw-sr-only', '…'));
    status.textContent = '正在查询…';
    scrollToEnd(true);

    var streamed = '';
    var pieces = 0;
    var live = null;
    function onDelta(piece) {
      pieces += 1;
      if (!live) {
        m.card.textContent = '';
        live = el('div', 'zw-text');
        m.card.appendChild(live);
        m.row.setAttribute('data-status', 'streaming');
        list.setAttribute('aria-busy', 'true'); // announce the whole answer once, not every piece
      }
      streamed += piece;
      live.textContent = streamed;
      scrollToEnd(false);
    }

    try {
      var payload = { question: question, session_id: state.sessionId || null, region: config.region };
      if (config.userToken) payload.user_token = config.userToken;
      var answer = await askStream(payload, onDelta, function () {
        streamed = '';
        if (live) live.textContent = '';
      });
      if (!answer || typeof answer.text !== 'string') throw new HttpError(0, '抱歉，收到的回答格式不正确，请稍后再试。');
      if (answer.session_id) state.sessionId = answer.session_id;
      var citations = Array.isArray(answer.citations) ? answer.citations : [];
      var record = { role: 'bot', text: answer.text, status: answer.status, citations: citations,
                     turn_id: typeof answer.turn_id === 'number' ? answer.turn_id : null };
      renderAnswer(m, record);
      state.messages.push(record);
      saveState();
      status.textContent = '';
      notify('zhengwu:answer', { question: question, answer: answer, pieces: pieces });
    } catch (err) {
      var message = errorMessage(err);
      if (streamed) message = streamed + '\n\n' + message;
      renderError(m, message);
      status.textContent = '';
      notify('zhengwu:error', { question: question, message: message, status: err instanceof HttpError ? err.status : 0 });
    } finally {
      list.removeAttribute('aria-busy');
      busy = false;
      send.disabled = false;
      scrollToEnd(true);
    }
  }

  // ------------------------------------------------------------------------------------------------ my data
  function buildAccount() {
    account = el('div', 'zw-account');
    account.id = uid + '-account';
    account.hidden = true;
    account.setAttribute('role', 'region');
    account.setAttribute('aria-label', '我的个人信息');
    var row = el('label', 'zw-account-row');
    accountSwitch = el('input');
    accountSwitch.type = 'checkbox';
    accountSwitch.setAttribute('role', 'switch');
    accountSwitch.className = 'zw-switch';
    accountSwitch.addEventListener('change', function () { setPersonalisation(accountSwitch.checked); });
    row.appendChild(accountSwitch);
    row.appendChild(el('span', '', '根据我的办事记录提供个性化解答'));
    var actions = el('div', 'zw-account-actions');
    var exportBtn = el('button', 'zw-account-action zw-export', '导出我的信息');
    exportBtn.type = 'button';
    exportBtn.addEventListener('click', exportMine);
    var deleteBtn = el('button', 'zw-account-action zw-delete', '删除我的信息');
    deleteBtn.type = 'button';
    deleteBtn.addEventListener('click', deleteMine);
    actions.appendChild(exportBtn);
    actions.appendChild(deleteBtn);
    accountNote = el('p', 'zw-account-note');
    accountNote.setAttribute('role', 'status');
    account.appendChild(row);
    account.appendChild(actions);
    account.appendChild(accountNote);
    return account;
  }

  async function me(path, extra) {
    var resp = await post('/api/v1/me/' + path, Object.assign({ user_token: config.userToken }, extra || {}));
    if (!resp.ok) throw await httpError(resp);
    return resp.json();
  }

  function showConsent(consents) {
    var on = !!(consents && consents.personalisation && consents.personalisation.granted);
    accountSwitch.checked = on;
    accountSwitch.setAttribute('aria-checked', on ? 'true' : 'false');
    return on;
  }

  async function toggleAccount() {
    var opening = account.hidden;
    account.hidden = !opening;
    accountBtn.setAttribute('aria-expanded', opening ? 'true' : 'false');
    if (!opening) return;
    accountNote.textContent = '正在读取…';
    try {
      var on = showConsent(await me('consent'));
      accountNote.textContent = on ? '个性化服务已开启。' : '个性化服务未开启。';
    } catch (err) { accountNote.textContent = errorMessage(err); }
  }

  async function setPersonalisation(on) {
    accountSwitch.disabled = true;
    try {
      showConsent(await me('consent', { personalisation: on }));
      accountNote.textContent = on ? '已开启个性化服务：回答将参考您的办事记录。' : '已关闭个性化服务：回答不再使用您的个人信息。';
    } catch (err) {
      accountSwitch.checked = !on;
      accountNote.textContent = errorMessage(err);
    } finally { accountSwitch.disabled = false; }
  }

  async function exportMine() {
    if (!window.confirm('将下载我们保存的关于您的全部信息（可能含身份证号等敏感信息），请在安全的设备上保存。是否继续？')) return;
    try {
      var data = await me('export');
      var blob = new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' });
      var link = document.createElement('a');
      link.href = URL.createObjectURL(blob);
      link.download = '我的信息.json';
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(function () { URL.revokeObjectURL(link.href); }, 10000);
      accountNote.textContent = '已导出您的信息。';
    } catch (err) { accountNote.textContent = errorMessage(err); }
  }

  async function deleteMine() {
    if (!window.confirm('确定删除我们保存的关于您的全部个人信息（办事记录、对话记录、授权记录）吗？删除后无法恢复。')) return;
    try {
      await me('delete');
      signOut();
      resetConversation();
      accountNote.textContent = '';
      var m = addMessage('bot');
      m.card.appendChild(el('div', 'zw-text', '您的个人信息已全部删除。'));
    } catch (err) { accountNote.textContent = errorMessage(err); }
  }

  function signIn(token) {
    config.userToken = (token || '').trim() || null;
    accountBtn.hidden = !config.userToken;
  }

  function signOut() {
    config.userToken = null;
    accountBtn.hidden = true;
    account.hidden = true;
    accountBtn.setAttribute('aria-expanded', 'false');
  }

  // ------------------------------------------------------------------------------------------------ start
  function start() {
    if (document.getElementById('zw-widget-host')) return;
    build();
    if (config.open) openPanel();
  }

  window.ZhengwuWidget = {
    open: function () { openPanel(); },
    close: function () { closePanel(false); },
    toggle: function () { toggle(); },
    ask: function (question) { if (panel.hidden) openPanel(); return submit(question); },
    reset: function () { resetConversation(); },
    signIn: function (token) { signIn(token); },
    signOut: function () { signOut(); },
    config: config
  };

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
