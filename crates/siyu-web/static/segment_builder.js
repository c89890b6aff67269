// The segment form's condition composer. It reads the catalog the page renders into
// <script type="application/json" id="segment-catalog"> (fields with their comparisons and options, tags,
// customer groups, staff, segments, identity kinds, consent values and every label), lets the user pick one condition and
// appends it to the definition text with " and " or " or " — the text stays the single source of truth,
// and the server parses it (siyu_domain::segment::text). Strings are quoted with `"` and `\"`, `\\` escapes.
(function () {
  'use strict';
  var root = document.getElementById('composer');
  var data = document.getElementById('segment-catalog');
  var textarea = document.getElementById('segment-text');
  if (!root || !data || !textarea) return;
  var cat = JSON.parse(data.textContent);
  var t = cat.t;
  var kind = document.getElementById('composer-kind');
  var parts = document.getElementById('composer-parts');
  var negate = document.getElementById('composer-not');
  var msg = document.getElementById('composer-msg');
  root.hidden = false;

  // How each comparison is written in the text form.
  var OPS = {
    eq: '=', ne: '!=', lt: '<', le: '<=', gt: '>', ge: '>=', in: 'in', contains: 'contains',
    starts_with: 'starts_with', within_days: 'within', older_than_days: 'older_than', has_any: 'has_any',
    has_all: 'has_all', is_set: 'is set', is_not_set: 'is not set'
  };

  // ---- the text form ----
  function quote(s) {
    return '"' + String(s).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\t/g, '\\t') + '"';
  }
  function list(items) { return '[' + items.map(quote).join(', ') + ']'; }
  function splitList(s) { return s.split(/[,，、]/).map(function (x) { return x.trim(); }).filter(Boolean); }
  // `30d`, or null when not a whole number of days from 1 to 3660.
  function days(v) {
    v = String(v).trim();
    if (!/^\d+$/.test(v)) return null;
    var n = parseInt(v, 10);
    return n >= 1 && n <= 3660 ? n + 'd' : null;
  }
  // A number literal; money is typed in yuan and written in fen.
  function number(v, money) {
    v = String(v).trim();
    if (!/^-?\d+(\.\d+)?$/.test(v)) return null;
    return money ? String(Math.round(parseFloat(v) * 100)) : v;
  }
  // The words outside strings and parentheses: whether the text already joins with `and` / `or`.
  function topWords(src) {
    var words = {}, depth = 0, i = 0;
    while (i < src.length) {
      var c = src.charAt(i);
      if (c === '"' || c === '“') {
        i++;
        while (i < src.length && src.charAt(i) !== '"' && src.charAt(i) !== '”') i += src.charAt(i) === '\\' ? 2 : 1;
        i++;
      } else if (c === '(' || c === '（') {
        depth++; i++;
      } else if (c === ')' || c === '）') {
        depth--; i++;
      } else if (/[A-Za-z_$]/.test(c)) {
        var j = i;
        while (j < src.length && /[A-Za-z0-9_.$]/.test(src.charAt(j))) j++;
        if (depth === 0) words[src.slice(i, j)] = true;
        i = j;
      } else {
        i++;
      }
    }
    return words;
  }
  // Appends `cond`; the existing text is parenthesised when it joins with the other word.
  function combine(existing, cond, join) {
    var text = existing.trim();
    if (!text) return cond;
    var other = join === 'and' ? 'or' : 'and';
    if (topWords(text)[other]) text = '(' + text + ')';
    return text + ' ' + join + ' ' + cond;
  }

  // ---- controls ----
  function h(tag, props, children) {
    var e = document.createElement(tag);
    Object.keys(props || {}).forEach(function (k) {
      if (k === 'text') e.textContent = props[k]; else e.setAttribute(k, props[k]);
    });
    (children || []).forEach(function (c) { if (c) e.appendChild(c); });
    return e;
  }
  function labelled(text, control, extra) {
    return h('label', { class: 'field' }, [h('span', { class: 'field-label', text: text }), control, extra]);
  }
  function select(pairs, blank) {
    var s = h('select');
    if (blank !== undefined) s.appendChild(h('option', { value: '', text: blank }));
    pairs.forEach(function (p) { s.appendChild(h('option', { value: p[0], text: p[1] })); });
    return s;
  }
  function input(type, placeholder) {
    var i = h('input', { type: type });
    if (placeholder) i.setAttribute('placeholder', placeholder);
    return i;
  }
  function unit(text) { return h('span', { class: 'hint', text: text }); }
  // Checkboxes over [value, label] pairs; returns [element, () => chosen values].
  function checks(pairs) {
    var box = h('div', { class: 'checks' });
    pairs.forEach(function (p) {
      box.appendChild(h('label', { class: 'check' }, [h('input', { type: 'checkbox', value: p[0] }), document.createTextNode(p[1])]));
    });
    return [box, function () {
      return Array.prototype.filter.call(box.querySelectorAll('input'), function (i) { return i.checked; })
        .map(function (i) { return i.value; });
    }];
  }
  // An optional "within N days" input; its value() is '' (none), ' within Nd' or null (invalid).
  function within(box) {
    var i = input('number', '');
    i.min = 1; i.max = 3660;
    box.appendChild(labelled(t.within, i, unit(t.days_unit)));
    return function () {
      if (!i.value.trim()) return '';
      var d = days(i.value);
      return d ? ' within ' + d : null;
    };
  }

  // The value control for a field and comparison; returns () => the written value ('' for none, null if missing).
  function valueControl(box, f, op) {
    if (!f || op === 'is_set' || op === 'is_not_set') return function () { return ''; };
    if (op === 'within_days' || op === 'older_than_days') {
      var d = input('number', '30');
      d.min = 1; d.max = 3660;
      box.appendChild(labelled(t.days, d, unit(t.days_unit)));
      return function () { return days(d.value); };
    }
    if (op === 'in' || op === 'has_any' || op === 'has_all') {
      if (f.options.length) {
        var c = checks(f.options);
        box.appendChild(labelled(t.value, c[0]));
        return function () { var v = c[1](); return v.length ? list(v) : null; };
      }
      var l = input('text', t.list_hint);
      box.appendChild(labelled(t.value, l));
      return function () { var v = splitList(l.value); return v.length ? list(v) : null; };
    }
    if (f.options.length) {
      var s = select(f.options, t.pick);
      box.appendChild(labelled(t.value, s));
      return function () { return s.value ? quote(s.value) : null; };
    }
    if (f.type === 'number') {
      var n = input('text', f.money ? '0.00' : '0');
      n.setAttribute('inputmode', 'decimal');
      box.appendChild(labelled(t.value, n, f.money ? unit(t.yuan) : null));
      return function () { return number(n.value, f.money); };
    }
    if (f.type === 'time' || f.type === 'date') {
      var day = input('date');
      box.appendChild(labelled(t.date, day));
      return function () { return /^\d{4}-\d{2}-\d{2}$/.test(day.value) ? quote(day.value) : null; };
    }
    var x = input('text');
    box.appendChild(labelled(t.value, x));
    return function () { return x.value.trim() ? quote(x.value.trim()) : null; };
  }

  // ---- one builder per kind of condition: fills `box`, returns () => the condition text or null ----
  var builders = {
    field: function (box) {
      var fields = {};
      var fieldSel = h('select', {}, [h('option', { value: '', text: t.pick })]);
      cat.groups.forEach(function (g) {
        var og = h('optgroup', { label: g.label });
        g.fields.forEach(function (f) { fields[f.key] = f; og.appendChild(h('option', { value: f.key, text: f.label })); });
        fieldSel.appendChild(og);
      });
      var opSel = h('select');
      var valueBox = h('div', { class: 'composer-value' });
      var value = function () { return ''; };
      function onOp() {
        valueBox.textContent = '';
        value = valueControl(valueBox, fields[fieldSel.value], opSel.value);
      }
      function onField() {
        var f = fields[fieldSel.value];
        opSel.textContent = '';
        (f ? cat.ops[f.type] : []).forEach(function (p) { opSel.appendChild(h('option', { value: p[0], text: p[1] })); });
        onOp();
      }
      fieldSel.addEventListener('change', onField);
      opSel.addEventListener('change', onOp);
      box.appendChild(labelled(t.field, fieldSel));
      box.appendChild(labelled(t.op, opSel));
      box.appendChild(valueBox);
      return function () {
        var f = fields[fieldSel.value];
        var v = value();
        if (!f || !opSel.value || v === null) return null;
        return f.key + ' ' + OPS[opSel.value] + (v ? ' ' + v : '');
      };
    },
    tag: function (box) {
      if (!cat.tags.length) { box.appendChild(unit(t.no_tags)); return function () { return null; }; }
      var mode = select(cat.tag_modes);
      box.appendChild(labelled(t.tag_mode, mode));
      var pickers = cat.tags.map(function (g) {
        var c = checks(g.tags);
        box.appendChild(labelled(g.group, c[0]));
        return c[1];
      });
      return function () {
        var chosen = [].concat.apply([], pickers.map(function (p) { return p(); }));
        return chosen.length ? 'tag ' + mode.value + ' ' + list(chosen) : null;
      };
    },
    // Customer groups (客户群): a filter over the names, then one checkbox per group the member sees.
    group: function (box) {
      var groups = cat.customer_groups || [];
      if (!groups.length) { box.appendChild(unit(t.no_groups)); return function () { return null; }; }
      var mode = select(cat.group_modes);
      box.appendChild(labelled(t.group_mode, mode));
      var filter = input('search', t.group_filter);
      var c = checks(groups);
      c[0].className = 'checks scroll';
      filter.addEventListener('input', function () {
        var q = filter.value.trim().toLowerCase();
        Array.prototype.forEach.call(c[0].children, function (l) {
          l.hidden = q !== '' && l.textContent.toLowerCase().indexOf(q) < 0;
        });
      });
      box.appendChild(labelled(t.group_filter, filter));
      box.appendChild(labelled(t.groups, c[0]));
      return function () {
        var chosen = c[1]();
        return chosen.length ? 'group ' + mode.value + ' ' + list(chosen) : null;
      };
    },
    identity: function (box) {
      var s = select(cat.identities);
      box.appendChild(labelled(t.identity_kind, s));
      return function () { return 'has ' + s.value; };
    },
    follow: function (box) {
      var staff = select(cat.staff, t.any_staff);
      var way = select(cat.add_ways, t.any);
      var state = input('text');
      box.appendChild(labelled(t.staff, staff));
      box.appendChild(labelled(t.add_way, way));
      box.appendChild(labelled(t.state, state));
      var w = within(box);
      return function () {
        var rest = w();
        if (rest === null) return null;
        return 'follow' + (staff.value ? ' staff ' + quote(staff.value) : '') +
          (state.value.trim() ? ' state ' + quote(state.value.trim()) : '') +
          (way.value ? ' add_way ' + quote(way.value) : '') + rest;
      };
    },
    event: function (box) {
      var name = input('text', 'add_to_cart');
      var op = select(cat.count_ops);
      var count = input('number', '1');
      count.min = 0; count.value = '1';
      box.appendChild(labelled(t.event_name, name));
      box.appendChild(labelled(t.count, op));
      box.appendChild(labelled(' ', count));
      var w = within(box);
      return function () {
        var rest = w();
        var n = count.value.trim() || '1';
        if (!name.value.trim() || rest === null || !/^\d+$/.test(n)) return null;
        var cmp = op.value === '>=' && n === '1' ? '' : ' ' + op.value + ' ' + parseInt(n, 10);
        return 'event ' + quote(name.value.trim()) + cmp + rest;
      };
    },
    bought: function (box) {
      var product = input('text', 'SKU-1001');
      box.appendChild(labelled(t.product, product));
      var w = within(box);
      return function () {
        var rest = w();
        return product.value.trim() && rest !== null ? 'bought ' + quote(product.value.trim()) + rest : null;
      };
    },
    consent: function (box) {
      var purpose = select(cat.purposes);
      var status = select(cat.statuses);
      box.appendChild(labelled(t.purpose, purpose));
      box.appendChild(labelled(t.status, status));
      return function () { return 'consent ' + purpose.value + ' ' + status.value; };
    },
    segment: function (box) {
      if (!cat.segments.length) { box.appendChild(unit(t.no_segments)); return function () { return null; }; }
      var s = select(cat.segments.map(function (n) { return [n, n]; }));
      box.appendChild(labelled(t.segment, s));
      return function () { return 'segment ' + quote(s.value); };
    }
  };

  var current = function () { return null; };
  function rebuild() {
    parts.textContent = '';
    msg.textContent = '';
    current = (builders[kind.value] || builders.field)(parts);
  }
  kind.addEventListener('change', rebuild);
  rebuild();

  Array.prototype.forEach.call(root.querySelectorAll('button[data-join]'), function (b) {
    b.addEventListener('click', function () {
      var cond = current();
      if (!cond) { msg.textContent = t.missing; return; }
      if (negate.checked) cond = 'not ' + cond;
      textarea.value = combine(textarea.value, cond, b.getAttribute('data-join'));
      negate.checked = false;
      msg.textContent = '';
      // The live count follows the text (htmx listens for `change`).
      textarea.dispatchEvent(new Event('change', { bubbles: true }));
      textarea.focus();
      textarea.setSelectionRange(textarea.value.length, textarea.value.length);
    });
  });
})();
