// An MCP server that is not ours: the conformance suite's fixture tools on the official TypeScript
// SDK (@modelcontextprotocol/sdk, pinned in package.json), over stdio. `polaris mcp import`
// imports it in the tests, so that the conformance scenarios run through the whole chain
// (conformance_test.cpp), and its extra tools let the tests look at the import side:
//   test_environment  returns this process's environment ({"env": {...}} as structured content)
//   test_slow         answers after `ms` milliseconds
//   test_log_tagged   logs "<tag> <i>" `count` times, `ms` milliseconds apart, then answers `tag`
// usage: POLARIS_MCP_PEERS=<peers dir> node fixture_server.mjs   (the peers dir may also be argv[2])
//        node fixture_server.mjs <peers dir> --http <port>: Streamable HTTP on
//        http://127.0.0.1:<port>/mcp (one session), where the SDK sends a call's log messages on
//        that call's own response stream
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';

const peers = process.argv[2] || process.env.POLARIS_MCP_PEERS;
const httpPort = process.argv[3] === '--http' ? Number(process.argv[4]) : undefined;
const require = createRequire(peers + '/package.json');
const { Server } = await import(require.resolve('@modelcontextprotocol/sdk/server/index.js'));
const { StdioServerTransport } = await import(require.resolve('@modelcontextprotocol/sdk/server/stdio.js'));
const { ListToolsRequestSchema, CallToolRequestSchema } = await import(
    require.resolve('@modelcontextprotocol/sdk/types.js'));

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
const WAV = 'UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQAAAAA=';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const text = (t) => ({ type: 'text', text: t });
const noArguments = { type: 'object', properties: {} };

const tools = [
  { name: 'test_simple_text', description: 'returns simple text', inputSchema: noArguments },
  { name: 'test_image_content', description: 'returns an image', inputSchema: noArguments },
  { name: 'test_audio_content', description: 'returns audio', inputSchema: noArguments },
  { name: 'test_embedded_resource', description: 'returns an embedded resource', inputSchema: noArguments },
  { name: 'test_multiple_content_types', description: 'returns text, image and resource', inputSchema: noArguments },
  { name: 'test_tool_with_logging', description: 'logs three messages while it runs', inputSchema: noArguments },
  { name: 'test_tool_with_progress', description: 'reports progress 0, 50, 100', inputSchema: noArguments },
  { name: 'test_error_handling', description: 'always fails', inputSchema: noArguments },
  {
    name: 'json_schema_2020_12_tool',
    description: 'Tool with JSON Schema 2020-12 features',
    inputSchema: {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      $defs: { address: { type: 'object', properties: { street: { type: 'string' }, city: { type: 'string' } } } },
      properties: { name: { type: 'string' }, address: { $ref: '#/$defs/address' } },
      additionalProperties: false,
    },
  },
  { name: 'test_environment', description: "returns this server's environment", inputSchema: noArguments },
  {
    name: 'test_log_tagged',
    description: 'logs "<tag> <i>" count times, ms milliseconds apart',
    inputSchema: {
      type: 'object',
      properties: { tag: { type: 'string' }, count: { type: 'integer' }, ms: { type: 'integer' } },
      required: ['tag'],
    },
  },
  {
    name: 'test_slow',
    description: 'answers after ms milliseconds',
    inputSchema: { type: 'object', properties: { ms: { type: 'integer' } }, required: ['ms'] },
  },
];

const server = new Server({ name: 'polaris-fixture-server', version: '1.0.0' },
                          { capabilities: { tools: {}, logging: {} } });
server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools }));
server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
  const { name, arguments: args = {} } = request.params;
  const log = (data) => extra.sendNotification(
      { method: 'notifications/message', params: { level: 'info', logger: 'fixture', data } });
  switch (name) {
    case 'test_simple_text':
      return { content: [text('This is a simple text response for testing.')] };
    case 'test_image_content':
      return { content: [{ type: 'image', data: PNG, mimeType: 'image/png' }] };
    case 'test_audio_content':
      return { content: [{ type: 'audio', data: WAV, mimeType: 'audio/wav' }] };
    case 'test_embedded_resource':
      return {
        content: [{
          type: 'resource',
          resource: { uri: 'test://embedded-resource', mimeType: 'text/plain', text: 'This is an embedded resource content.' },
        }],
      };
    case 'test_multiple_content_types':
      return {
        content: [
          text('Multiple content types test:'),
          { type: 'image', data: PNG, mimeType: 'image/png' },
          {
            type: 'resource',
            resource: { uri: 'test://mixed-content-resource', mimeType: 'application/json', text: '{"test":"data","value":123}' },
          },
        ],
      };
    case 'test_tool_with_logging':
      await log('Tool execution started');
      await sleep(50);
      await log('Tool processing data');
      await sleep(50);
      await log('Tool execution completed');
      return { content: [text('Tool with logging executed successfully')] };
    case 'test_tool_with_progress': {
      const token = request.params._meta?.progressToken;
      for (const progress of [0, 50, 100]) {
        if (token !== undefined) {
          await extra.sendNotification(
              { method: 'notifications/progress', params: { progressToken: token, progress, total: 100 } });
        }
        if (progress < 100) await sleep(50);
      }
      return { content: [text('Tool with progress executed successfully')] };
    }
    case 'test_error_handling':
      return { isError: true, content: [text('This tool intentionally returns an error for testing')] };
    case 'json_schema_2020_12_tool':
      return { content: [text(JSON.stringify(args))] };
    case 'test_environment':
      return { content: [text('environment')], structuredContent: { env: { ...process.env } } };
    case 'test_log_tagged':
      for (let i = 1; i <= (Number(args.count) || 1); ++i) {
        if (i > 1) await sleep(Number(args.ms) || 0);
        await log(`${args.tag} ${i}`);
      }
      return { content: [text(String(args.tag))] };
    case 'test_slow':
      await sleep(Number(args.ms) || 0);
      return { content: [text(`slept ${args.ms} ms`)] };
    default:
      return { isError: true, content: [text(`unknown tool ${name}`)] };
  }
});
if (httpPort === undefined) {
  await server.connect(new StdioServerTransport());
} else {
  const { StreamableHTTPServerTransport } = await import(
      require.resolve('@modelcontextprotocol/sdk/server/streamableHttp.js'));
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID() });
  await server.connect(transport);
  createServer((req, res) => {
    if (new URL(req.url, 'http://localhost').pathname !== '/mcp') {
      res.writeHead(404).end();
      return;
    }
    transport.handleRequest(req, res).catch((error) => {
      if (!res.headersSent) res.writeHead(500).end(String(error));
    });
  }).listen(httpPort, '127.0.0.1');
}
