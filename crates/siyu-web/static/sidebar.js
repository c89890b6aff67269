// The staff sidebar inside WeCom's chat toolbar (docs/sidebar.md). Inside WeCom: wx.config + wx.agentConfig
// with /sidebar/jsconfig, then getCurExternalContact names the chat's customer. In the development identity
// the customer comes from the picker and sends are simulated. Sends are recorded once per send id.
(function () {
  "use strict";
  var body = document.body;
  var dev = body.dataset.dev === "1";
  var csrf = body.dataset.csrf;
  var customer = "";

  function toast(text) {
    var t = document.getElementById("sb-toast");
    if (!t) return;
    t.textContent = text;
    t.classList.add("show");
    setTimeout(function () { t.classList.remove("show"); }, 2500);
  }

  function loadPanel(externalUserid) {
    if (!externalUserid) return;
    htmx.ajax("GET", "/sidebar/panel?external_userid=" + encodeURIComponent(externalUserid), "#panel");
  }

  function loadScripts() {
    if (!customer) return;
    var q = document.getElementById("script-q");
    var url = "/sidebar/scripts?customer=" + encodeURIComponent(customer) + "&q=" + encodeURIComponent(q ? q.value : "");
    htmx.ajax("GET", url, "#scripts");
  }

  function loadMaterials() {
    if (!customer) return;
    var q = document.getElementById("material-q");
    var url = "/sidebar/materials?customer=" + encodeURIComponent(customer) + "&q=" + encodeURIComponent(q ? q.value : "");
    htmx.ajax("GET", url, "#materials");
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

  // item: {script_id} or {material_id}.
  function record(id, item, customerId) {
    var payload = { send_id: id, customer_id: customerId };
    Object.keys(item).forEach(function (k) { payload[k] = item[k]; });
    return post("/sidebar/sends", payload).then(function (r) {
      if (!r.ok) throw new Error("record failed");
      toast(body.dataset.msgSent);
      if (item.script_id) loadScripts();
    });
  }

  // Asks the server for the message (a tracked link is minted for this customer), sends it, then records it.
  function sendMaterial(button) {
    var id = button.dataset.sendId || sendId();
    button.dataset.sendId = id;
    var item = { material_id: button.dataset.material };
    var failed = function () { toast(body.dataset.msgSendFailed); };
    post("/sidebar/materials/message", { customer_id: button.dataset.customer, material_id: button.dataset.material })
      .then(function (r) { if (!r.ok) throw new Error("prepare failed"); return r.json(); })
      .then(function (message) {
        if (dev) {
          if (window.confirm(body.dataset.msgDevSend + "\n\n" + JSON.stringify(message, null, 1))) {
            record(id, item, button.dataset.customer).catch(failed);
          }
          return;
        }
        message.enterChat = false;
        wx.invoke("sendChatMessage", message, function (res) {
          if (res.err_msg === "sendChatMessage:ok") { record(id, item, button.dataset.customer).catch(failed); }
          else if (res.err_msg !== "sendChatMessage:cancel") { failed(); }
        });
      })
      .catch(function () { toast(body.dataset.msgMaterialFailed); });
  }

  function send(button) {
    var id = button.dataset.sendId || sendId();
    button.dataset.sendId = id; // a retry of the same tap keeps its id
    var text = button.dataset.text;
    if (dev) {
      if (window.confirm(body.dataset.msgDevSend + "\n\n" + text)) {
        record(id, { script_id: button.dataset.script }, button.dataset.customer).catch(function () { toast(body.dataset.msgSendFailed); });
      }
      return;
    }
    wx.invoke("sendChatMessage", { msgtype: "text", enterChat: false, text: { content: text } }, function (res) {
      if (res.err_msg === "sendChatMessage:ok") {
        record(id, { script_id: button.dataset.script }, button.dataset.customer).catch(function () { toast(body.dataset.msgSendFailed); });
      } else if (res.err_msg !== "sendChatMessage:cancel") {
        toast(body.dataset.msgSendFailed);
      }
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
              wx.invoke("getCurExternalContact", {}, function (res) {
                if (res.err_msg === "getCurExternalContact:ok") { loadPanel(res.userId); }
                else { toast(body.dataset.msgNoContact); }
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
    var sendButton = e.target.closest(".sb-send");
    if (sendButton) send(sendButton);
    var materialButton = e.target.closest(".sb-send-material");
    if (materialButton) sendMaterial(materialButton);
  });

  document.addEventListener("htmx:afterSwap", function (e) {
    var panel = document.getElementById("customer-panel");
    if (panel && e.target.id === "panel") { customer = panel.dataset.customer; }
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
      if (pick) pick.addEventListener("change", function () { loadPanel(pick.value); });
      loadPanel(body.dataset.devExternal || (pick && pick.value));
    } else {
      startWecom();
    }
  });
})();
