// Drives the web console in headless Chromium (Debian's, launched here) with puppeteer-core, one
// scenario per run: `node browser.mjs SCENARIO`. Run by console_test.cpp, which starts the
// cluster, the agents and `polaris console`, and passes: CONSOLE_URL, CONSOLE_TOKEN, CHROMIUM,
// ARTIFACTS (where screenshots go), NODE_NAMES (comma-separated). Prints "ok" and exits 0, or
// prints what failed and exits 1. Every scenario also fails on any console error of the page.
// CONSOLE_DEBUG=1 in the test's environment also prints the page's requests and console lines.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(process.env.PEERS_DIR + '/node_modules/');
const puppeteer = require('puppeteer-core');

const scenario = process.argv[2];
const url = process.env.CONSOLE_URL;
const token = process.env.CONSOLE_TOKEN || '';
const artifacts = process.env.ARTIFACTS;
const nodeNames = (process.env.NODE_NAMES || '').split(',').filter(Boolean);
const timeout = 20000;

function fail(message) {
  throw new Error(message);
}

// Chromium as our child (in our process group, which the test kills when we are done), with a
// profile of its own; the DevTools URL comes on its stderr.
function launchChromium() {
  // Under the test's own temporary folder, which it removes once our process group is gone
  // (Chromium's helpers may still write the profile after the browser exited).
  const profile = mkdtempSync(join(process.env.PROFILE_ROOT || tmpdir(), 'chromium-'));
  const child = spawn(process.env.CHROMIUM || 'chromium', [
    '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
    '--no-default-browser-check', '--disable-extensions', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--metrics-recording-only',
    `--user-data-dir=${profile}`, '--remote-debugging-port=0', 'about:blank',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error('chromium did not start: ' + seen)), 30000);
    child.stderr.on('data', (chunk) => {
      seen += chunk.toString();
      const match = seen.match(/DevTools listening on (ws:\/\/\S+)/);
      if (match) {
        clearTimeout(timer);
        resolve({ child, profile, endpoint: match[1] });
      }
    });
    child.on('exit', (code) => reject(new Error(`chromium exited (${code}): ${seen}`)));
  });
}

// JSON with object keys sorted (the cluster's JSON sorts them).
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

async function shot(page, name) {
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

async function text(page, selector) {
  return page.$eval(selector, (node) => node.textContent);
}

async function openConsole(browser, viewport, problems) {
  const page = await browser.newPage();
  await page.setViewport(viewport || { width: 1280, height: 900 });
  page.on('console', (message) => {
    if (message.type() === 'error') {
      problems.push(`console ${message.type()}: ${message.text()}`);
    }
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => {
    // Chromium's DevTools report a call's event stream as aborted when the page's reader has
    // read it to its end just before the network service reports it complete: the page saw a
    // clean end (a real failure rejects its read and shows as an error on the page).
    const error = request.failure()?.errorText;
    if (request.url().endsWith('/api/call') && error === 'net::ERR_ABORTED') return;
    problems.push(`request failed: ${request.url()} ${error}`);
  });
  if (process.env.CONSOLE_DEBUG) {
    const t0 = Date.now();
    page.on('request', (r) => console.log(`+${Date.now() - t0} request ${r.method()} ${r.url()}`));
    page.on('requestfinished', (r) => console.log(`+${Date.now() - t0} finished ${r.url()}`));
    page.on('requestfailed', (r) => console.log(`+${Date.now() - t0} failed ${r.url()} ${r.failure()?.errorText}`));
    page.on('console', (m) => console.log(`+${Date.now() - t0} console ${m.type()} ${m.text()}`));
  }
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`);
  });
  await page.goto(`${url}#token=${encodeURIComponent(token)}`, { waitUntil: 'load' });
  await page.waitForSelector('body[data-loaded="true"]', { timeout });
  return page;
}

async function waitForNodes(page, names, state) {
  await page.waitForFunction((wanted, want) => wanted.every((name) => {
    const row = document.querySelector(`#nodes tr[data-node="${name}"] td.state`);
    return row && row.textContent === want;
  }), { timeout }, names, state);
}

async function selectTool(page, name) {
  await page.waitForSelector(`#tool-list button[data-tool="${name}"]`, { timeout });
  await page.click(`#tool-list button[data-tool="${name}"]`);
  await page.waitForFunction((n) => document.getElementById('tool-name')?.textContent === n,
    { timeout }, name);
}

async function call(page) {
  await page.click('#call');
  await page.waitForFunction(() => document.getElementById('result') ||
    document.getElementById('call-error'), { timeout });
}

async function fillCalculator(page, operation, a, b) {
  await page.select('select[name="operation"]', operation);
  for (const [name, value] of [['a', a], ['b', b]]) {
    await page.$eval(`input[name="${name}"]`, (node) => { node.value = ''; });
    await page.type(`input[name="${name}"]`, value);
  }
}

const scenarios = {
  // The page loads, every node is up, the calculator is listed with its statistics.
  async load(browser, problems) {
    const page = await openConsole(browser, null, problems);
    await waitForNodes(page, nodeNames, 'up');
    await page.waitForSelector('#tool-list button[data-tool="calculator"]', { timeout });
    await selectTool(page, 'calculator');
    await shot(page, 'load');
  },

  // The calculator's form: a select with the four operations; 1 + 2 gives {"result": 3}.
  async calculator(browser, problems) {
    const page = await openConsole(browser, null, problems);
    await selectTool(page, 'calculator');
    const options = await page.$$eval('select[name="operation"] option', (nodes) =>
      nodes.map((node) => node.value));
    if (JSON.stringify(options) !== JSON.stringify(['add', 'subtract', 'multiply', 'divide'])) {
      fail(`the operation select offers ${JSON.stringify(options)}`);
    }
    await fillCalculator(page, 'add', '1', '2');
    await call(page);
    if (await page.$('#call-error')) fail('the call failed: ' + await text(page, '#call-error'));
    const result = JSON.parse(await text(page, '#result'));
    if (JSON.stringify(result) !== JSON.stringify({ result: 3 })) {
      fail(`the result is ${JSON.stringify(result)}`);
    }
    const elapsed = await text(page, '#elapsed');
    if (!/ms$/.test(elapsed)) fail(`no elapsed time: "${elapsed}"`);
    await shot(page, 'calculator');
  },

  // A tool's error with its code; a number field that is not a number stops the call.
  async errors(browser, problems) {
    const page = await openConsole(browser, null, problems);
    await selectTool(page, 'calculator');
    await fillCalculator(page, 'divide', '1', '0');
    await call(page);
    const error = await text(page, '#call-error');
    if (!error.includes('tool_failed') || !error.includes('divide by zero')) {
      fail(`the tool error shows "${error}"`);
    }
    await shot(page, 'tool-error');
    await fillCalculator(page, 'add', 'abc', '2');
    await page.click('#call');
    await page.waitForSelector('#form-error:not([hidden])', { timeout });
    const message = await text(page, '#form-error');
    if (!message.includes('a must be a number')) fail(`the validation error shows "${message}"`);
    if (!(await page.evaluate(() => document.activeElement?.name === 'a'))) {
      fail('the field to fix does not have the focus');
    }
    // The call was not made: the previous outcome is still there.
    if (!(await page.$('#call-error'))) fail('a call was made with invalid arguments');
    await shot(page, 'validation-error');
  },

  // A long call's progress and log messages show while it runs, before its result. The tool
  // holds its result until released (the release tool), so nothing here depends on timing.
  async progress(browser, problems) {
    const page = await openConsole(browser, null, problems);
    await selectTool(page, 'slow_steps');
    await page.click('#call');
    await page.waitForSelector('#events li[data-kind="progress"]', { timeout });
    await page.waitForSelector('#events li[data-kind="log"]', { timeout });
    if (await page.$('#result')) fail('the result came before the progress was shown');
    const running = await page.$('#running');
    if (!running) fail('the call is not shown as running');
    await shot(page, 'progress');
    const released = await page.evaluate(async (bearer) => {
      const response = await fetch('/api/call', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${bearer}` },
        body: JSON.stringify({ tool: 'release_slow_steps', arguments: {} }),
      });
      return response.text();
    }, token);
    if (!released.includes('event: result')) fail(`releasing failed: ${released}`);
    await page.waitForSelector('#result', { timeout });
    const result = JSON.parse(await text(page, '#result'));
    if (result.steps !== 3) fail(`the result is ${JSON.stringify(result)}`);
    const events = await page.$$eval('#events li', (nodes) => nodes.map((node) => node.textContent));
    if (!events.some((line) => line.includes('step 1'))) fail(`events: ${JSON.stringify(events)}`);
  },

  // Nested objects, arrays and booleans from the form reach the tool as JSON; raw-JSON mode too.
  async nested(browser, problems) {
    const page = await openConsole(browser, null, problems);
    await selectTool(page, 'echo');
    await page.type('input[name="title"]', 'hello');
    await page.click('input[name="loud"]');
    await page.type('input[name="point.x"]', '4');
    await page.type('input[name="point.y"]', '-2.5');
    const addTag = await page.$$('#try-form fieldset button.small');
    if (addTag.length === 0) fail('no button adds an item to an array');
    await addTag[addTag.length - 1].click();
    await page.type('input[name="tags[0]"]', 'first');
    await call(page);
    if (await page.$('#call-error')) fail('the call failed: ' + await text(page, '#call-error'));
    const got = JSON.parse(await text(page, '#result'));
    const want = { echo: { title: 'hello', loud: true, point: { x: 4, y: -2.5 }, tags: ['first'] } };
    if (canonical(got) !== canonical(want)) fail(`the echo is ${JSON.stringify(got)}`);
    await shot(page, 'nested');
    await page.click('#raw-toggle');
    await page.$eval('#raw-json', (node) => { node.value = '{"title": "raw", "tags": []}'; });
    await call(page);
    const raw = JSON.parse(await text(page, '#result'));
    if (canonical(raw) !== canonical({ echo: { title: 'raw', tags: [] } })) {
      fail(`the raw echo is ${JSON.stringify(raw)}`);
    }
  },

  // On a phone's width nothing scrolls sideways but the tables, and the form works.
  async phone(browser, problems) {
    const page = await openConsole(browser, { width: 390, height: 844 },
      problems);
    await waitForNodes(page, nodeNames, 'up');
    await selectTool(page, 'calculator');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    if (overflow > 0) fail(`the page is ${overflow}px wider than the phone`);
    await fillCalculator(page, 'multiply', '2', '3');
    await call(page);
    const result = JSON.parse(await text(page, '#result'));
    if (result.result !== 6) fail(`the result is ${JSON.stringify(result)}`);
    await shot(page, 'phone');
  },

  // Keyboard only: Tab to the calculator, Enter, Tab through the form, Enter calls.
  async keyboard(browser, problems) {
    const page = await openConsole(browser, null, problems);
    await page.waitForSelector('#tool-list button[data-tool="calculator"]', { timeout });
    const focusedIs = (selector) => page.evaluate((s) => document.activeElement?.matches(s), selector);
    const tabTo = async (selector) => {
      for (let i = 0; i < 60; ++i) {
        if (await focusedIs(selector)) return;
        await page.keyboard.press('Tab');
      }
      fail(`Tab never reaches ${selector}`);
    };
    await tabTo('#tool-list button[data-tool="calculator"]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('select[name="operation"]', { timeout });
    await tabTo('select[name="operation"]');
    await page.keyboard.press('ArrowDown');  // add -> subtract
    await tabTo('input[name="a"]');
    await page.keyboard.type('5');
    await tabTo('input[name="b"]');
    await page.keyboard.type('3');
    await page.keyboard.press('Enter');  // submits the form
    await page.waitForSelector('#result', { timeout });
    const result = JSON.parse(await text(page, '#result'));
    if (result.result !== 2) fail(`the result is ${JSON.stringify(result)}`);
  },

  // An LLM agent is called like any tool; its nested call shows from its progress events.
  async agent(browser, problems) {
    const page = await openConsole(browser, null, problems);
    await selectTool(page, 'planner');
    await page.type('input[name="task"]', 'Add 1 and 2.');
    await call(page);
    if (await page.$('#call-error')) fail('the call failed: ' + await text(page, '#call-error'));
    const reply = JSON.parse(await text(page, '#result'));
    if (!String(reply.answer).startsWith('the calculator says')) {
      fail(`the answer is ${JSON.stringify(reply)}`);
    }
    const events = await page.$$eval('#events li[data-kind="agent"]', (nodes) =>
      nodes.map((node) => node.textContent));
    if (!events.some((line) => line.startsWith('planner → calculator')) ||
        !events.some((line) => line.startsWith('planner ← calculator'))) {
      fail(`the agent's events: ${JSON.stringify(events)}`);
    }
    await shot(page, 'llm-agent');
  },

  // The test kills a node once we print "kill"; its row must turn down.
  async nodedown(browser, problems) {
    const page = await openConsole(browser, null, problems);
    await waitForNodes(page, nodeNames, 'up');
    const victim = nodeNames[nodeNames.length - 1];
    console.log(`kill ${victim}`);
    await waitForNodes(page, [victim], 'down');
    const rowClass = await page.$eval(`#nodes tr[data-node="${victim}"]`, (node) => node.className);
    if (!rowClass.includes('down')) fail(`the row of ${victim} is "${rowClass}"`);
    await waitForNodes(page, nodeNames.slice(0, -1), 'up');
    await shot(page, 'node-down');
  },
};

async function main() {
  if (!scenarios[scenario]) fail(`unknown scenario ${scenario}`);
  const chromium = await launchChromium();
  const problems = [];
  let browser;
  try {
    browser = await puppeteer.connect({ browserWSEndpoint: chromium.endpoint, defaultViewport: null });
    await scenarios[scenario](browser, problems);
    if (problems.length > 0) fail('the page reported problems:\n  ' + problems.join('\n  '));
  } finally {
    if (browser) await browser.close().catch(() => {});
    const child = chromium.child;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }

  }
}

main().then(() => {
  console.log('ok');
  process.exit(0);
}, (error) => {
  console.log(`FAIL ${scenario}: ${error.stack || error}`);
  process.exit(1);
});
