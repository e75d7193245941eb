// The polaris web console: polls the console's JSON API (/api/...) and calls tools through it
// (POST /api/call answers with a stream of server-sent events). No framework, no build step.
'use strict';

(() => {
  const state = {
    token: sessionStorage.getItem('polaris-console-token') || '',
    info: null,
    tools: [],
    stats: [],
    selected: null,      // the selected tool's name
    schemaKey: null,     // the rendered form's declaration, to rebuild only when it changes
    form: null,          // {read(): value} of the rendered form
    raw: false,          // raw-JSON mode
    calling: false,
    stopped: false,      // the refresh loop waits for a token
    refreshMs: 1000,
  };

  const $ = (id) => document.getElementById(id);

  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'class') node.className = value;
      else if (key === 'text') node.textContent = value;
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? '' : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  // A token in the URL's fragment (never sent to the server) is kept for this tab, then hidden.
  if (location.hash.startsWith('#token=')) {
    state.token = decodeURIComponent(location.hash.slice('#token='.length));
    sessionStorage.setItem('polaris-console-token', state.token);
    history.replaceState(null, '', location.pathname + location.search);
  }

  function headers(extra) {
    const result = Object.assign({}, extra || {});
    if (state.token) result.Authorization = 'Bearer ' + state.token;
    return result;
  }

  class HttpError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function api(path) {
    const response = await fetch(path, { headers: headers(), cache: 'no-store' });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new HttpError(response.status, body.error || response.statusText);
    return body;
  }

  function banner(message) {
    const node = $('banner');
    node.hidden = !message;
    node.textContent = message || '';
  }

  function notice(id, message) {
    const node = $(id);
    node.hidden = !message;
    node.textContent = message || '';
  }

  function askToken(message) {
    $('token-form').hidden = false;
    $('token-button').hidden = false;
    banner(message);
  }

  $('token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    state.token = $('token-input').value;
    sessionStorage.setItem('polaris-console-token', state.token);
    $('token-form').hidden = true;
    banner('');
    state.info = null;
    if (state.stopped) refresh();
  });
  $('token-button').addEventListener('click', () => {
    $('token-form').hidden = false;
    $('token-input').focus();
  });

  // ---- Cluster ----

  function uptime(seconds) {
    const s = Math.floor(seconds || 0);
    const d = Math.floor(s / 86400);
    const h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60);
    if (d > 0) return `${d}d${String(h).padStart(2, '0')}h`;
    if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
    if (m > 0) return `${m}m${String(s % 60).padStart(2, '0')}s`;
    return `${s % 60}s`;
  }

  function shortId(id) {
    return id && id.length > 12 ? id.slice(0, 12) : id || '';
  }

  function renderStatus(status) {
    const rows = [];
    for (const node of status.nodes || []) {
      const peers = (node.peers || []).filter((p) => !p.left).length;
      const name = node.node === node.server_id ? shortId(node.node) : node.node;
      rows.push(el('tr', { 'data-node': node.node, class: 'up' },
        el('th', { scope: 'row', text: name }),
        el('td', { class: 'state up', text: 'up' }),
        el('td', { class: 'mono', text: node.client_url || '' }),
        el('td', { text: node.monitoring ? `${node.peers_up || 0}/${peers}` : '?' }),
        el('td', { text: node.tools ?? '' }),
        el('td', { text: node.agents ?? '' }),
        el('td', { text: uptime(node.uptime_s) }),
        el('td', { text: node.version || '' })));
    }
    for (const node of status.missing || []) {
      const name = node.node || shortId(node.server_id);
      const down = node.state === 'down';
      rows.push(el('tr', { 'data-node': name, class: down ? 'down' : 'other' },
        el('th', { scope: 'row', text: name }),
        el('td', { class: 'state ' + (down ? 'down' : 'other'), text: node.state }),
        el('td', { text: '-' }), el('td', { text: '-' }), el('td', { text: '-' }),
        el('td', { text: '-' }), el('td', { text: '-' }), el('td', { text: '-' })));
    }
    for (const node of status.left || []) {
      const name = node.node || shortId(node.server_id);
      rows.push(el('tr', { 'data-node': name, class: 'left' },
        el('th', { scope: 'row', text: name }),
        el('td', { class: 'state other', text: 'left' }),
        el('td', { text: 'stopped on purpose', colspan: 6 })));
    }
    $('nodes').tBodies[0].replaceChildren(...rows);
    const answering = (status.nodes || []).length;
    const total = answering + (status.missing || []).length;
    $('cluster-summary').textContent = status.loaded ? `${answering} of ${total} answering` : '';
    notice('cluster-notice', status.loaded ? status.notice : 'Gathering the status…');
  }

  // ---- Tools ----

  function lower(type) {
    return typeof type === 'string' ? type.toLowerCase() : '';
  }

  function statsOf(name) {
    return state.stats.filter((row) => row.tool === name);
  }

  function renderToolList() {
    const query = $('search').value.trim().toLowerCase();
    const shown = state.tools.filter((tool) => !query ||
      tool.name.toLowerCase().includes(query) ||
      (tool.description || '').toLowerCase().includes(query));
    const items = shown.map((tool) => el('li', {},
      el('button', {
        type: 'button',
        'data-tool': tool.name,
        'aria-current': tool.name === state.selected ? 'true' : 'false',
        onclick: () => select(tool.name),
      }, el('span', { class: 'name', text: tool.name }),
      el('span', { class: 'desc', text: tool.description || '' }))));
    // Refreshing must not take the keyboard focus away from the tool it is on.
    const focused = document.activeElement && document.activeElement.dataset
      ? document.activeElement.dataset.tool : undefined;
    $('tool-list').replaceChildren(...items);
    if (focused !== undefined) {
      const again = $('tool-list').querySelector(`button[data-tool="${CSS.escape(focused)}"]`);
      if (again) again.focus();
    }
    $('tools-summary').textContent =
      `${state.tools.length} tool${state.tools.length === 1 ? '' : 's'}` +
      (query ? `, ${shown.length} shown` : '');
  }

  $('search').addEventListener('input', renderToolList);

  function select(name) {
    state.selected = name;
    state.schemaKey = null;
    renderToolList();
    renderTool(true);
  }

  // The declaration's original JSON Schema when an importer kept it (MCP tools), else its
  // Gemini-style wire schema. Both are read the same way (types in either case).
  function parametersOf(tool) {
    return tool.parametersJsonSchema || tool.parameters || null;
  }

  function describeSchema(schema, name, required, depth) {
    const rows = [];
    const type = lower(schema.type) || (schema.properties ? 'object' : 'any');
    const parts = [type];
    if (schema.enum) parts.push('one of ' + schema.enum.join(', '));
    if (schema.default !== undefined) parts.push('default ' + JSON.stringify(schema.default));
    if (type === 'array' && schema.items) parts.push('of ' + (lower(schema.items.type) || 'any'));
    if (name !== null) {
      rows.push(el('tr', {},
        el('td', { class: 'mono', text: '  '.repeat(depth) + name }),
        el('td', { text: parts.join('; ') }),
        el('td', { text: required ? 'yes' : '' }),
        el('td', { text: schema.description || '' })));
    }
    const requiredNames = new Set(schema.required || []);
    const properties = schema.properties ||
      (type === 'array' && schema.items && schema.items.properties ? schema.items.properties : null);
    const nestedRequired = properties === schema.properties ? requiredNames
      : new Set((schema.items && schema.items.required) || []);
    if (properties) {
      for (const [child, childSchema] of Object.entries(properties)) {
        rows.push(...describeSchema(childSchema, child, nestedRequired.has(child), depth + 1));
      }
    }
    return rows;
  }

  function fact(term, value) {
    return [el('dt', { text: term }), el('dd', {}, value)];
  }

  function renderStats(name) {
    const rows = statsOf(name);
    if (rows.length === 0) return el('p', { class: 'muted', text: 'No statistics.' });
    const ms = (v) => (typeof v === 'number' ? v.toFixed(3) : '-');
    const rate = (v) => (typeof v === 'number' ? v.toFixed(2) + '/s' : '-');
    return el('div', { class: 'scroll' }, el('table', { class: 'stats' },
      el('thead', {}, el('tr', {}, ['Agent', 'Calls', 'Errors', 'Calls/s', 'Errors/s', 'In flight',
        'p50 ms', 'p90 ms', 'p99 ms', 'max ms'].map((h) => el('th', { scope: 'col', text: h })))),
      el('tbody', {}, rows.map((row) => el('tr', {},
        el('td', { class: 'mono', text: row.agent }),
        el('td', { text: row.calls }), el('td', { text: row.errors }),
        el('td', { text: rate(row.call_rate) }), el('td', { text: rate(row.error_rate) }),
        el('td', { text: row.in_flight }),
        el('td', { text: ms((row.latency_ms || {}).p50) }),
        el('td', { text: ms((row.latency_ms || {}).p90) }),
        el('td', { text: ms((row.latency_ms || {}).p99) }),
        el('td', { text: ms((row.latency_ms || {}).max) }))))));
  }

  function renderTool(focus) {
    const box = $('tool');
    const tool = state.tools.find((t) => t.name === state.selected);
    if (!tool) {
      if (state.selected) {
        box.replaceChildren(el('p', { class: 'notice', text: `${state.selected} is no longer in the catalogue.` }));
      }
      return;
    }
    const key = JSON.stringify([tool.name, tool.description, parametersOf(tool)]);
    if (key === state.schemaKey) {
      // Same declaration: keep the form (and what was typed); refresh the live parts only.
      const facts = box.querySelector('.facts');
      if (facts) facts.replaceWith(toolFacts(tool));
      const stats = box.querySelector('.live-stats');
      if (stats) stats.replaceChildren(renderStats(tool.name));
      return;
    }
    state.schemaKey = key;
    const schema = parametersOf(tool);
    const parts = [
      el('h3', { id: 'tool-name', text: tool.name }),
      el('p', { text: tool.description || '(no description)' }),
      toolFacts(tool),
      el('h3', { text: 'Statistics' }),
      el('div', { class: 'live-stats' }, renderStats(tool.name)),
      el('h3', { text: 'Parameters' }),
    ];
    const described = schema ? describeSchema(schema, null, false, -1) : [];
    parts.push(described.length === 0 ? el('p', { class: 'muted', text: 'None.' })
      : el('div', { class: 'scroll' }, el('table', { class: 'params' },
        el('thead', {}, el('tr', {}, ['Name', 'Type', 'Required', 'Description']
          .map((h) => el('th', { scope: 'col', text: h })))),
        el('tbody', {}, described))));
    if (!state.info || !state.info.read_only) parts.push(...tryIt(tool, schema));
    else parts.push(el('p', { class: 'notice', text: 'This console is read-only (--read-only): tools cannot be called from it.' }));
    box.replaceChildren(...parts);
    if (focus) $('tool-name').setAttribute('tabindex', '-1');
  }

  function toolFacts(tool) {
    const p = tool.polaris || {};
    const agents = tool.agents || [];
    return el('dl', { class: 'facts' },
      fact('Replicas', p.replicas ? String(p.replicas) : '-'),
      fact('Agents', agents.length ? agents.join(', ') : '-'),
      p.timeout_ms ? fact('Timeout', `${p.timeout_ms} ms`) : []);
  }

  // ---- The form, generated from the schema ----

  let fieldCounter = 0;
  class Invalid extends Error {}

  // A field for `schema`: {node, read()} where read() returns the value, undefined to leave it
  // out, or throws Invalid with a message naming the field.
  function field(schema, label, required, path) {
    schema = schema || {};
    const id = 'f' + (++fieldCounter);
    const type = lower(schema.type) || (schema.properties ? 'object' : '');
    const hint = [type || 'JSON', required ? 'required' : 'optional', schema.description]
      .filter(Boolean).join(' · ');
    const labelNode = (forId) => el('label', { for: forId }, label, ' ', el('span', { class: 'hint', text: hint }));
    const errorNode = el('p', { class: 'field-error', hidden: true, id: id + '-error' });
    const fail = (input, message) => {
      input.classList.add('invalid');
      input.setAttribute('aria-invalid', 'true');
      errorNode.hidden = false;
      errorNode.textContent = message;
      throw new Invalid(message);
    };
    const clear = (input) => {
      input.classList.remove('invalid');
      input.removeAttribute('aria-invalid');
      errorNode.hidden = true;
    };

    if (Array.isArray(schema.enum)) {
      const select = el('select', { id, name: path, 'aria-describedby': id + '-error' },
        required ? null : el('option', { value: '', text: '(not set)' }),
        schema.enum.map((v) => el('option', { value: String(v), text: String(v) })));
      if (schema.default !== undefined) select.value = String(schema.default);
      return {
        node: el('div', { class: 'field' }, labelNode(id), select, errorNode),
        read() {
          clear(select);
          if (select.value === '') return undefined;
          const index = schema.enum.map(String).indexOf(select.value);
          const value = schema.enum[index];
          if ((type === 'integer' || type === 'number') && typeof value === 'string') return Number(value);
          return value;
        },
      };
    }
    if (type === 'boolean') {
      const box = el('input', { id, type: 'checkbox', name: path });
      let touched = required || schema.default !== undefined;
      if (schema.default === true) box.checked = true;
      box.addEventListener('change', () => { touched = true; });
      return {
        node: el('div', { class: 'field' }, el('label', { class: 'check', for: id }, box, label, ' ',
          el('span', { class: 'hint', text: hint }))),
        read: () => (touched ? box.checked : undefined),
      };
    }
    if (type === 'number' || type === 'integer') {
      const input = el('input', { id, type: 'text', name: path, inputmode: type === 'integer' ? 'numeric' : 'decimal',
        autocomplete: 'off', 'aria-describedby': id + '-error' });
      if (schema.default !== undefined) input.value = String(schema.default);
      return {
        node: el('div', { class: 'field' }, labelNode(id), input, errorNode),
        read() {
          clear(input);
          const text = input.value.trim();
          if (text === '') {
            if (required) fail(input, `${path} is required`);
            return undefined;
          }
          const value = Number(text);
          if (!Number.isFinite(value) || !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) {
            fail(input, `${path} must be a number, not "${text}"`);
          }
          if (type === 'integer' && !Number.isInteger(value)) fail(input, `${path} must be an integer`);
          if (typeof schema.minimum === 'number' && value < schema.minimum) fail(input, `${path} must be at least ${schema.minimum}`);
          if (typeof schema.maximum === 'number' && value > schema.maximum) fail(input, `${path} must be at most ${schema.maximum}`);
          return value;
        },
      };
    }
    if (type === 'string') {
      const input = el('input', { id, type: 'text', name: path, autocomplete: 'off', 'aria-describedby': id + '-error' });
      if (schema.default !== undefined) input.value = String(schema.default);
      return {
        node: el('div', { class: 'field' }, labelNode(id), input, errorNode),
        read() {
          clear(input);
          if (input.value === '' && !required) return undefined;
          return input.value;
        },
      };
    }
    if (type === 'object' && schema.properties) {
      const requiredNames = new Set(schema.required || []);
      const children = Object.entries(schema.properties).map(([name, child]) =>
        [name, field(child, name, requiredNames.has(name), path ? `${path}.${name}` : name)]);
      const body = children.map(([, f]) => f.node);
      const node = path ? el('fieldset', {}, el('legend', {}, label, ' ', el('span', { class: 'hint', text: hint })), body)
        : el('div', {}, body);
      return {
        node,
        read() {
          const value = {};
          let any = false;
          const problems = [];
          for (const [name, f] of children) {
            try {
              const v = f.read();
              if (v !== undefined) { value[name] = v; any = true; }
            } catch (error) {
              if (!(error instanceof Invalid)) throw error;
              problems.push(error.message);
            }
          }
          if (problems.length) throw new Invalid(problems.join('; '));
          return any || required || !path ? value : undefined;
        },
      };
    }
    if (type === 'array' && schema.items) {
      const list = el('div', { class: 'items' });
      const items = [];
      const add = () => {
        const n = items.length;
        const f = field(schema.items, `${label}[${n}]`, true, `${path}[${n}]`);
        const entry = { f, node: null };
        const remove = el('button', { type: 'button', class: 'secondary small', text: 'Remove',
          'aria-label': `Remove item ${n} of ${label}`,
          onclick: () => { items.splice(items.indexOf(entry), 1); entry.node.remove(); } });
        entry.node = el('div', { class: 'item' }, f.node, remove);
        items.push(entry);
        list.append(entry.node);
      };
      const addButton = el('button', { type: 'button', class: 'secondary small', text: `Add item to ${label}`, onclick: add });
      return {
        node: el('fieldset', {}, el('legend', {}, label, ' ', el('span', { class: 'hint', text: hint })), list, addButton),
        read() {
          if (items.length === 0 && !required) return undefined;
          const problems = [];
          const value = [];
          for (const { f } of items) {
            try {
              const v = f.read();
              value.push(v === undefined ? null : v);
            } catch (error) {
              if (!(error instanceof Invalid)) throw error;
              problems.push(error.message);
            }
          }
          if (problems.length) throw new Invalid(problems.join('; '));
          return value;
        },
      };
    }
    // Anything else (no type, a union, an object without properties): JSON typed in.
    const area = el('textarea', { id, name: path, rows: 3, spellcheck: 'false', 'aria-describedby': id + '-error' });
    if (schema.default !== undefined) area.value = JSON.stringify(schema.default, null, 2);
    return {
      node: el('div', { class: 'field' }, labelNode(id), area, errorNode),
      read() {
        clear(area);
        if (area.value.trim() === '') {
          if (required) fail(area, `${path} is required`);
          return undefined;
        }
        try {
          return JSON.parse(area.value);
        } catch (error) {
          return fail(area, `${path} is not valid JSON: ${error.message}`);
        }
      },
    };
  }

  function tryIt(tool, schema) {
    // The arguments are always an object: a tool without parameters gets an empty form.
    const objectSchema = schema && (lower(schema.type) === 'object' || schema.properties)
      ? Object.assign({}, schema, { properties: schema.properties || {} })
      : { type: 'object', properties: {} };
    const form = field(objectSchema, 'arguments', true, '');
    state.form = form;
    state.raw = false;
    const raw = el('textarea', { id: 'raw-json', rows: 8, spellcheck: 'false', hidden: true,
      'aria-label': 'Arguments as JSON' });
    const formBox = el('div', { id: 'form-fields' }, form.node);
    const formError = el('p', { id: 'form-error', class: 'field-error', role: 'alert', hidden: true });
    const rawToggle = el('button', { type: 'button', class: 'secondary', id: 'raw-toggle', text: 'Raw JSON',
      'aria-pressed': 'false' });
    rawToggle.addEventListener('click', () => {
      state.raw = !state.raw;
      rawToggle.setAttribute('aria-pressed', String(state.raw));
      rawToggle.textContent = state.raw ? 'Form' : 'Raw JSON';
      if (state.raw) {
        let value = {};
        try { value = form.read() || {}; } catch (error) { if (!(error instanceof Invalid)) throw error; }
        raw.value = JSON.stringify(value, null, 2);
      }
      raw.hidden = !state.raw;
      formBox.hidden = state.raw;
    });
    const call = el('button', { type: 'submit', id: 'call', text: 'Call' });
    const elapsed = el('span', { id: 'elapsed', class: 'muted', 'aria-live': 'off' });
    const formNode = el('form', { id: 'try-form', novalidate: true },
      formBox, raw, formError,
      el('div', { class: 'actions' }, call, rawToggle, elapsed));
    formNode.addEventListener('submit', (event) => {
      event.preventDefault();
      formError.hidden = true;
      let args;
      try {
        if (state.raw) {
          try {
            args = JSON.parse(raw.value || '{}');
          } catch (error) {
            throw new Invalid('The arguments are not valid JSON: ' + error.message);
          }
          if (args === null || typeof args !== 'object' || Array.isArray(args)) {
            throw new Invalid('The arguments must be a JSON object');
          }
        } else {
          args = form.read() || {};
        }
      } catch (error) {
        if (!(error instanceof Invalid)) throw error;
        formError.hidden = false;
        formError.textContent = error.message;
        // Keyboard and screen-reader users land on the first field to fix.
        const first = formNode.querySelector('[aria-invalid="true"]');
        if (first) first.focus();
        return;
      }
      callTool(tool.name, args);
    });
    return [
      el('h3', { text: 'Try it' }),
      formNode,
      el('div', { id: 'outcome', class: 'outcome', 'aria-live': 'polite' }),
      el('h3', { id: 'events-title', text: 'Progress and log', hidden: true }),
      el('ul', { id: 'events', class: 'events', 'aria-labelledby': 'events-title' }),
    ];
  }

  // ---- Calling ----

  function describeEvent(message) {
    if (message.log) {
      const data = message.log.data;
      if (message.log.logger === 'polaris.llm_agent' && data && typeof data === 'object' && data.event) {
        const depth = Math.min(Math.max(Number(data.depth) || 1, 1), 5);
        let text;
        let failed = false;
        if (data.event === 'call') text = `${data.agent} → ${data.name} ${JSON.stringify(data.arguments || {})}`;
        else if (data.event === 'result') {
          failed = data.ok === false;
          text = `${data.agent} ← ${data.name} ${failed ? 'failed: ' + data.error : JSON.stringify(data.result)}` +
            (typeof data.ms === 'number' ? ` (${data.ms} ms)` : '');
        } else if (data.event === 'text') text = `${data.agent}: ${data.text}`;
        else text = `${data.agent}: ${JSON.stringify(data)}`;
        return el('li', { class: `agent d${depth}${failed ? ' fail' : ''}`, 'data-kind': 'agent', text });
      }
      const body = typeof data === 'string' ? data : JSON.stringify(data);
      return el('li', { 'data-kind': 'log', text: `[${message.log.level || 'info'}]${message.log.logger ? ' ' + message.log.logger : ''} ${body}` });
    }
    if (message.progress !== undefined) {
      const total = typeof message.total === 'number' ? message.total : null;
      const bar = total ? el('progress', { value: String(message.progress), max: String(total) }) : null;
      return el('li', { 'data-kind': 'progress' }, bar, ' ',
        `progress ${message.progress}${total ? ' / ' + total : ''}${message.message ? ': ' + message.message : ''}`);
    }
    return el('li', { text: JSON.stringify(message) });
  }

  function showOutcome(node) {
    $('outcome').replaceChildren(node);
  }

  async function callTool(name, args) {
    if (state.calling) return;
    state.calling = true;
    const button = $('call');
    const events = $('events');
    const elapsed = $('elapsed');
    button.disabled = true;
    events.replaceChildren();
    $('events-title').hidden = true;
    showOutcome(el('p', { class: 'muted', id: 'running', text: `Calling ${name}…` }));
    const started = performance.now();
    const tick = setInterval(() => {
      elapsed.textContent = `${((performance.now() - started) / 1000).toFixed(1)} s`;
    }, 100);
    const finish = () => {
      clearInterval(tick);
      state.calling = false;
      button.disabled = false;
    };
    const handle = (kind, data) => {
      if (kind === 'progress') {
        $('events-title').hidden = false;
        events.append(describeEvent(data));
      } else if (kind === 'result') {
        elapsed.textContent = `${data.ms.toFixed(1)} ms`;
        showOutcome(el('div', {}, el('p', { class: 'muted', text: `Result after ${data.ms.toFixed(1)} ms` }),
          el('pre', { id: 'result', tabindex: '0', text: JSON.stringify(data.result, null, 2) })));
      } else if (kind === 'error') {
        elapsed.textContent = `${data.ms.toFixed(1)} ms`;
        showOutcome(el('div', { class: 'error-box', id: 'call-error', role: 'alert' },
          el('span', { class: 'code', text: data.code }), el('span', { class: 'message', text: data.message })));
      }
    };
    try {
      const response = await fetch('/api/call', {
        method: 'POST',
        headers: headers({ 'Content-Type': 'application/json', Accept: 'text/event-stream' }),
        body: JSON.stringify({ tool: name, arguments: args }),
      });
      if (!response.ok) {
        const body = await response.json().catch(() => ({}));
        if (response.status === 401) askToken('The console needs a token.');
        handle('error', { code: `HTTP ${response.status}`, message: body.error || response.statusText,
          ms: performance.now() - started });
        return;
      }
      await readEvents(response.body, handle);
      if ($('running')) {
        handle('error', { code: 'connection_lost', message: 'the stream ended before the result',
          ms: performance.now() - started });
      }
    } catch (error) {
      handle('error', { code: 'network', message: String(error.message || error), ms: performance.now() - started });
    } finally {
      finish();
    }
  }

  // Server-sent events from a fetch body (EventSource cannot POST or send a token).
  async function readEvents(body, handle) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let kind = 'message';
        const data = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) kind = line.slice(7);
          else if (line.startsWith('data: ')) data.push(line.slice(6));
        }
        if (data.length === 0) continue;
        try {
          handle(kind, JSON.parse(data.join('\n')));
        } catch (error) {
          handle('error', { code: 'protocol', message: 'a malformed event: ' + error.message, ms: 0 });
        }
      }
    }
  }

  // ---- Refreshing ----

  async function refresh() {
    state.stopped = false;
    try {
      if (!state.info) {
        state.info = await api('/api/info');
        state.refreshMs = Math.max(500, state.info.refresh_ms || 1000);
        const user = state.info.user ? `as ${state.info.user}` : 'no user';
        $('about').textContent = `polaris ${state.info.version} · ${user} · ${state.info.connected_url || 'not connected'}` +
          (state.info.read_only ? ' · read-only' : '');
        $('token-button').hidden = !state.info.auth;
      }
      const [status, tools, stats] = await Promise.all([api('/api/status'), api('/api/tools'), api('/api/stats')]);
      banner('');
      renderStatus(status);
      state.stats = stats.rows || [];
      notice('stats-notice', stats.loaded ? stats.notice : '');
      state.tools = (tools.tools || []).slice().sort((a, b) => a.name.localeCompare(b.name));
      notice('tools-notice', tools.notice);
      renderToolList();
      renderTool(false);
      document.body.dataset.loaded = 'true';
    } catch (error) {
      if (error instanceof HttpError && error.status === 401) {
        state.info = null;
        askToken(state.token ? 'The token was refused.' : 'The console needs a token.');
        state.stopped = true;
        return;  // until a token is entered
      }
      banner(`The console cannot be reached: ${error.message}`);
    }
    setTimeout(refresh, state.refreshMs);
  }

  refresh();
})();
