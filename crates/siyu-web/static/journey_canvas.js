// Journey form: drag a node on the preview canvas to move it; its x/y are written back into the graph's
// JSON in the editor (the next preview redraws the edges). The node settings beside the canvas (a send's
// cap policy, an event trigger's key) are written into the JSON the same way. No build step, no
// dependencies.
(function () {
  "use strict";
  var drag = null;

  function editor() { return document.getElementById("journey-graph"); }

  function svgPoint(svg, evt) {
    var p = svg.createSVGPoint();
    p.x = evt.clientX; p.y = evt.clientY;
    var m = svg.getScreenCTM();
    return m ? p.matrixTransform(m.inverse()) : p;
  }

  function moveInJson(id, dx, dy) {
    var area = editor();
    if (!area) return;
    var graph;
    try { graph = JSON.parse(area.value); } catch (e) { return; }
    (graph.nodes || []).forEach(function (n) {
      if (n.id === id) {
        n.x = Math.max(0, Math.round(((n.x || 0) + dx) / 10) * 10);
        n.y = Math.max(0, Math.round(((n.y || 0) + dy) / 10) * 10);
      }
    });
    area.value = JSON.stringify(graph, null, 2);
    area.dispatchEvent(new Event("keyup", { bubbles: true }));
  }

  function setInJson(id, field, value) {
    var area = editor();
    if (!area) return;
    var graph;
    try { graph = JSON.parse(area.value); } catch (e) { return; }
    (graph.nodes || []).forEach(function (n) {
      if (n.id !== id) return;
      if (field === "channel") {
        n.channel = value;
      } else if (field === "on_cap") {
        if (value === "defer") n.on_cap = "defer"; else delete n.on_cap;
      } else if (field === "key" && n.trigger) {
        value = value.trim();
        if (value) n.trigger.key = value; else delete n.trigger.key;
      }
    });
    area.value = JSON.stringify(graph, null, 2);
    area.dispatchEvent(new Event("keyup", { bubbles: true }));
  }

  document.addEventListener("change", function (evt) {
    var el = evt.target;
    if (!el.getAttribute || !el.getAttribute("data-node-field")) return;
    setInJson(el.getAttribute("data-node"), el.getAttribute("data-node-field"), el.value);
  });

  document.addEventListener("pointerdown", function (evt) {
    var g = evt.target.closest && evt.target.closest("#journey-preview g.node");
    if (!g || !editor()) return;
    var svg = g.ownerSVGElement;
    var start = svgPoint(svg, evt);
    var t = /translate\(([-\d.]+),([-\d.]+)\)/.exec(g.getAttribute("transform") || "") || [0, 0, 0];
    drag = { g: g, svg: svg, start: start, x: +t[1], y: +t[2], dx: 0, dy: 0 };
    g.classList.add("dragging");
    evt.preventDefault();
  });

  document.addEventListener("pointermove", function (evt) {
    if (!drag) return;
    var p = svgPoint(drag.svg, evt);
    drag.dx = p.x - drag.start.x;
    drag.dy = p.y - drag.start.y;
    drag.g.setAttribute("transform", "translate(" + (drag.x + drag.dx) + "," + (drag.y + drag.dy) + ")");
  });

  document.addEventListener("pointerup", function () {
    if (!drag) return;
    var d = drag;
    drag = null;
    d.g.classList.remove("dragging");
    if (Math.abs(d.dx) + Math.abs(d.dy) > 2) moveInJson(d.g.getAttribute("data-node"), d.dx, d.dy);
  });
})();
