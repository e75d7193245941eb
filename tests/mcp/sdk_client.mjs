// The official TypeScript SDK client driving a polaris MCP server (used by serve_test.cpp).
// usage: node sdk_client.mjs stdio COMMAND ARGS... | node sdk_client.mjs http URL [TOKEN]
// The script comes in $MCP_SCRIPT: [{"call": name, "arguments": {...}, "progress": bool}, ...]
// Prints one JSON object: {"tools": [...], "results": [...], "progress": [[...], ...]}.
import { createRequire } from 'node:module';

const require = createRequire(process.env.POLARIS_MCP_PEERS + '/package.json');
const { Client } = await import(require.resolve('@modelcontextprotocol/sdk/client/index.js'));
const { StdioClientTransport } = await import(require.resolve('@modelcontextprotocol/sdk/client/stdio.js'));
const { StreamableHTTPClientTransport } = await import(
    require.resolve('@modelcontextprotocol/sdk/client/streamableHttp.js'));

const [mode, ...rest] = process.argv.slice(2);
let transport;
if (mode === 'stdio') {
  transport = new StdioClientTransport({ command: rest[0], args: rest.slice(1), stderr: 'inherit' });
} else {
  const headers = rest[1] ? { Authorization: `Bearer ${rest[1]}` } : {};
  transport = new StreamableHTTPClientTransport(new URL(rest[0]), { requestInit: { headers } });
}
const script = JSON.parse(process.env.MCP_SCRIPT || '[]');
const client = new Client({ name: 'polaris-test', version: '1.0.0' });
await client.connect(transport);
const out = { server: client.getServerVersion(), tools: (await client.listTools()).tools, results: [], progress: [] };
for (const step of script) {
  const progress = [];
  const options = step.progress ? { onprogress: (p) => progress.push(p) } : {};
  out.results.push(await client.callTool({ name: step.call, arguments: step.arguments ?? {} }, undefined, options));
  out.progress.push(progress);
}
await client.close();
process.stdout.write(JSON.stringify(out) + '\n');
process.exit(0);
