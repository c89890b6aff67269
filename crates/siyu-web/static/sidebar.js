// The staff sidebar inside WeCom's chat toolbar (docs/sidebar.md). Inside WeCom: wx.config + wx.agentConfig
// with /sidebar/jsconfig, then getContext tells a one-to-one chat (getCurExternalContact names the customer)
// from a customer group's chat (getCurExternalChat names the group). In the development identity the customer
// or group comes from the pickers and sends are simulated. Sends are recorded once per send id.
(function () {
  "use strict";
  var body = document.body;
  var dev = body.dataset.dev === "1";
  var csrf = body.dataset.csrf;
  // Whom sends go to: {kind: "customer" | "group", id}. In a group chat it stays the group, even while a
  // member's customer panel is open.
  var audience = null;
  // The open group chat's chat_id ("" in a one-to-one chat).
  var groupChat = "";

  function toast(text) {
    var t = document.getElementById("sb-toast");
    if (!t) return;
    t.textContent = text;
    t.classList.add("show");
    setTimeout(function () { t.classList.remove("show"); }, 2500);
  }

  function loadPanel(externalUserid) {
    if (!externalUserid) return;
    groupChat = "";
    audience = null;
    htmx.ajax("GET", "/sidebar/panel?external_userid=" + encodeURIComponent(externalUserid), "#panel");
  }

  function loadGroup(chatId) {
    if (!chatId) return;
    groupChat = chatId;
    audience = null;
    htmx.ajax("GET", "/sidebar/group?chat_id=" + encodeURIComponent(chatId), "#panel");
  }

  function audienceQuery() {
    return audience.kind + "=" + encodeURIComponent(audience.id);
  }

  function loadScripts() {
    if (!audience) return;
    var q = document.getElementById("script-q");
    var url = "/sidebar/scripts?" + audienceQuery() + "&q=" + encodeURIComponent(q ? q.value : "");
    htmx.ajax("GET", url, "#scripts");
  }

  function loadMaterials() {
    if (!audience) return;
    var q = document.getElementById("material-q");
    var url = "/sidebar/materials?" + audienceQuery() + "&q=" + encodeURIComponent(q ? q.value : "");
    htmx.ajax("GET", url, "#materials");
  }

  // {customer_id} or {group_id} from a button's data-audience-kind and data-audience.
  function audienceOf(button) {
    var out = {};
    out[button.dataset.audienceKind + "_id"] = button.dataset.audience;
    return out;
  }

  function sendId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "s" + Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
  }

  function post(url, payload) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json", "x-sidebar-csrf": csrf },
      body: JSON.stringify(payload)
    });
  }

  // item: {script_id} or {material_id}; to: {customer_id} or {group_id}.
  function record(id, item, to) {
    var payload = { send_id: id };
    [item, to].forEach(function (o) { Object.keys(o).forEach(function (k) { payload[k] = o[k]; }); });
    return post("/sidebar/sends", payload).then(function (r) {
      if (!r.ok) throw new Error("record failed");
      toast(body.dataset.msgSent);
      if (item.script_id) loadScripts();
    });
  }

  // Why a material goes as a tracked link although it could have gone by media_id: on its card, and a toast.
  function showFallback(button, text) {
    var card = button.closest(".sb-material");
    var how = card && card.querySelector(".sb-how");
    if (how) { how.textContent = text; how.classList.add("warn"); how.classList.remove("muted"); }
    toast(text);
  }

  // Asks the server for the message (a tracked link minted, or an image, video or file uploaded to WeCom),
  // sends it, then records it. A `fallback` (the material went as a link card instead) is shown, not sent.
  function sendMaterial(button) {
    var id = button.dataset.sendId || sendId();
    button.dataset.sendId = id;
    var item = { material_id: button.dataset.material };
    var to = audienceOf(button);
    var failed = function () { toast(body.dataset.msgSendFailed); };
    var ask = { material_id: button.dataset.material };
    Object.keys(to).forEach(function (k) { ask[k] = to[k]; });
    post("/sidebar/materials/message", ask)
      .then(function (r) { if (!r.ok) throw new Error("prepare failed"); return r.json(); })
      .then(function (message) {
        var fallback = message.fallback;
        delete message.fallback;
        if (fallback) showFallback(button, fallback.text);
        if (dev) {
          if (window.confirm(body.dataset.msgDevSend + "\n\n" + JSON.stringify(message, null, 1))) {
            record(id, item, to).catch(failed);
          }
          return;
        }
        message.enterChat = false;
        wx.invoke("sendChatMessage", message, function (res) {
          if (res.err_msg === "sendChatMessage:ok") { record(id, item, to).catch(failed); }
          else if (res.err_msg !== "sendChatMessage:cancel") { failed(); }
        });
      })
      .catch(function () { toast(body.dataset.msgMaterialFailed); });
  }

  function send(button) {
    var id = button.dataset.sendId || sendId();
    button.dataset.sendId = id; // a retry of the same tap keeps its id
    var text = button.dataset.text;
    var to = audienceOf(button);
    if (dev) {
      if (window.confirm(body.dataset.msgDevSend + "\n\n" + text)) {
        record(id, { script_id: button.dataset.script }, to).catch(function () { toast(body.dataset.msgSendFailed); });
      }
      return;
    }
    wx.invoke("sendChatMessage", { msgtype: "text", enterChat: false, text: { content: text } }, function (res) {
      if (res.err_msg === "sendChatMessage:ok") {
        record(id, { script_id: button.dataset.script }, to).catch(function () { toast(body.dataset.msgSendFailed); });
      } else if (res.err_msg !== "sendChatMessage:cancel") {
        toast(body.dataset.msgSendFailed);
      }
    });
  }

  // A one-to-one chat: its customer; failing that (an older client without getContext), a group chat.
  function openContactChat() {
    wx.invoke("getCurExternalContact", {}, function (res) {
      if (res.err_msg === "getCurExternalContact:ok") { loadPanel(res.userId); }
      else { openGroupChat(); }
    });
  }

  function openGroupChat() {
    wx.invoke("getCurExternalChat", {}, function (res) {
      if (res.err_msg === "getCurExternalChat:ok") { loadGroup(res.chatId); }
      else { toast(body.dataset.msgNoContact); }
    });
  }

  function startWecom() {
    if (typeof wx === "undefined") { toast(body.dataset.msgNoContact); return; }
    var url = location.href.split("#")[0];
    fetch("/sidebar/jsconfig?url=" + encodeURIComponent(url), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (c) {
        wx.config({ beta: true, debug: false, appId: c.config.corp_id, timestamp: c.config.timestamp,
          nonceStr: c.config.nonce_str, signature: c.config.signature, jsApiList: c.jsApiList });
        wx.ready(function () {
          wx.agentConfig({ corpid: c.agent_config.corp_id, agentid: c.agent_config.agent_id,
            timestamp: c.agent_config.timestamp, nonceStr: c.agent_config.nonce_str,
            signature: c.agent_config.signature, jsApiList: c.jsApiList,
            success: function () {
              wx.invoke("getContext", {}, function (ctx) {
                if (ctx.err_msg === "getContext:ok" && ctx.entry === "group_chat_tools") { openGroupChat(); }
                else { openContactChat(); }
              });
            },
            fail: function () { toast(body.dataset.msgNoContact); }
          });
        });
        wx.error(function () { toast(body.dataset.msgNoContact); });
      })
      .catch(function () { toast(body.dataset.msgNoContact); });
  }

  document.addEventListener("click", function (e) {
    var tab = e.target.closest("[data-tab]");
    if (tab) {
      document.querySelectorAll("[data-tab]").forEach(function (b) { b.classList.toggle("active", b === tab); });
      document.querySelectorAll(".sb-tab").forEach(function (s) { s.classList.toggle("active", s.id === "tab-" + tab.dataset.tab); });
      if (tab.dataset.tab === "send") { loadScripts(); loadMaterials(); }
      return;
    }
    var sub = e.target.closest("[data-subtab]");
    if (sub) {
      document.querySelectorAll("[data-subtab]").forEach(function (b) { b.classList.toggle("active", b === sub); });
      document.querySelectorAll(".sb-sub").forEach(function (s) { s.classList.toggle("active", s.id === "sub-" + sub.dataset.subtab); });
      if (sub.dataset.subtab === "materials") loadMaterials();
      return;
    }
    var member = e.target.closest(".sb-open-customer");
    if (member) {
      e.preventDefault();
      htmx.ajax("GET", "/sidebar/panel?customer=" + encodeURIComponent(member.dataset.customer), "#panel");
      return;
    }
    if (e.target.closest("#back-to-group")) { loadGroup(groupChat); return; }
    var sendButton = e.target.closest(".sb-send");
    if (sendButton) send(sendButton);
    var materialButton = e.target.closest(".sb-send-material");
    if (materialButton) sendMaterial(materialButton);
  });

  // The panel shows its 404 notices (an unknown customer or group) instead of keeping the old content.
  document.addEventListener("htmx:beforeSwap", function (e) {
    if (e.detail.xhr.status === 404 && e.detail.target && e.detail.target.id === "panel") {
      e.detail.shouldSwap = true;
      e.detail.isError = false;
    }
  });

  document.addEventListener("htmx:afterSwap", function (e) {
    if (e.target.id !== "panel") return;
    var group = document.getElementById("group-panel");
    var customerPanel = document.getElementById("customer-panel");
    var back = document.getElementById("back-to-group");
    if (group) { audience = { kind: "group", id: group.dataset.group }; }
    else if (customerPanel && !groupChat) { audience = { kind: "customer", id: customerPanel.dataset.customer }; }
    if (back) back.hidden = !(groupChat && customerPanel);
  });

  [["script-q", loadScripts], ["material-q", loadMaterials]].forEach(function (pair) {
    var input = document.getElementById(pair[0]);
    if (!input) return;
    var timer = null;
    input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(pair[1], 250); });
  });

  document.addEventListener("DOMContentLoaded", function () {
    if (dev) {
      var pick = document.getElementById("dev-contact");
      var pickGroup = document.getElementById("dev-group");
      if (pick) pick.addEventListener("change", function () { if (pickGroup) pickGroup.value = ""; loadPanel(pick.value); });
      if (pickGroup) pickGroup.addEventListener("change", function () { if (pick) pick.value = ""; loadGroup(pickGroup.value); });
      if (body.dataset.devChat) { loadGroup(body.dataset.devChat); }
      else { loadPanel(body.dataset.devExternal || (pick && pick.value)); }
    } else {
      startWecom();
    }
  });
})();
