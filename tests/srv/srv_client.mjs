// The official NATS JavaScript service client (@nats-io/services) querying the ADR-32 service
// discovery subjects; srv_test.cpp runs it against polaris agents.
//
// usage: node srv_client.mjs URL NAME ALL_COUNT NAME_COUNT [--reference]
//   URL         the NATS server
//   NAME        the service name for the filtered queries ($SRV.<verb>.NAME and NAME.<id>)
//   ALL_COUNT   how many services answer $SRV.<verb> (the client waits for that many, 10 s at most)
//   NAME_COUNT  how many answer $SRV.<verb>.NAME
//   --reference first start a service with the official implementation (name "reference",
//               endpoints "echo" and "fail", one call each), whose answers show what the
//               official library itself sends
//   --call SUBJECT BODY
//               first send one request and report how the client sees its reply ("call")
// Prints one JSON object:
//   {"versions": {package: version}, "all": {"ping": [...], "info": [...], "stats": [...]},
//    "name": {...same...}, "ids": {"<id>": {...same...}},
//    "call": {"body": "...", "service_error": bool, "code": number, "description": "..."}}
// where "ids" holds, for every id the NAME ping found, the answers to $SRV.<verb>.NAME.<id>.
// Exits 1 (message on stderr) when the client fails, e.g. cannot parse an answer.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(process.env.POLARIS_SRV_PEERS + '/package.json');
const { connect } = require('@nats-io/transport-node');
const { Svcm, ServiceError } = require('@nats-io/services');

const [url, name, allCount, nameCount, ...flags] = process.argv.slice(2);
const maxWait = 10000;

async function collect(client, count, ...filter) {
  const found = { ping: [], info: [], stats: [] };
  for (const verb of Object.keys(found)) {
    for await (const answer of await client(count)[verb](...filter)) found[verb].push(answer);
  }
  return found;
}

// A registry with users needs credentials: POLARIS_SRV_USER and POLARIS_SRV_PASSWORD.
const credentials = process.env.POLARIS_SRV_USER
  ? { user: process.env.POLARIS_SRV_USER, pass: process.env.POLARIS_SRV_PASSWORD ?? '' }
  : {};
const nc = await connect({ servers: url, name: 'srv-client', ...credentials });
try {
  const svcm = new Svcm(nc);
  if (flags.includes('--reference')) {
    const service = await svcm.add({
      name: 'reference', version: '1.2.3', description: 'the official implementation',
      metadata: { origin: 'srv_client.mjs' },
    });
    service.addEndpoint('echo', {
      handler: (_err, msg) => msg.respond(msg.data), metadata: { about: 'answers its request' },
    });
    service.addEndpoint('fail', () => { throw new ServiceError(500, 'boom'); });
    await nc.request('echo', 'hello');
    await nc.request('fail', 'x').catch(() => {});  // answered with the service error headers
  }
  const call = flags.indexOf('--call');
  let called;
  if (call >= 0) {
    const reply = await nc.request(flags[call + 1], flags[call + 2]);
    const error = ServiceError.toServiceError(reply);  // null unless the error headers are there
    called = {
      body: reply.string(), service_error: ServiceError.isServiceError(reply),
      code: error?.code ?? 0, description: error?.message ?? '',
    };
  }
  // The client collects answers until `count` came, or 10 s passed.
  const client = (count) => svcm.client({ strategy: 'count', maxMessages: count, maxWait });
  const out = { versions: {}, all: {}, name: {}, ids: {} };
  for (const pkg of ['@nats-io/services', '@nats-io/transport-node']) {
    const manifest = `${process.env.POLARIS_SRV_PEERS}/node_modules/${pkg}/package.json`;
    out.versions[pkg] = JSON.parse(readFileSync(manifest, 'utf8')).version;
  }
  out.all = await collect(client, Number(allCount));
  out.name = await collect(client, Number(nameCount), name);
  for (const { id } of out.name.ping) out.ids[id] = await collect(client, 1, name, id);
  if (called) out.call = called;
  process.stdout.write(JSON.stringify(out) + '\n');
} catch (error) {
  process.stderr.write(`srv_client: ${error?.stack ?? error}\n`);
  process.exitCode = 1;
} finally {
  await nc.close();
}
