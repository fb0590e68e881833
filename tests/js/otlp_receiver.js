// otlp_receiver.js — an independent OTLP/gRPC logs receiver for elog's forwarding tests: grpc-js
// serving opentelemetry.proto.collector.logs.v1.LogsService with the official OTLP .proto files
// (proto/opentelemetry, loaded by @grpc/proto-loader; nothing of elog's code). Each received
// LogRecord is appended to OUT as one JSON line; the bound port is written to READY once
// listening. With --unavailable N the first N calls get UNAVAILABLE (to exercise retry);
// --delay-ms answers each call that much later (a slow collector).
//
//   node otlp_receiver.js --proto-dir DIR --out OUT --ready READY [--unavailable N]
//        [--require-header K=V] [--delay-ms MS]
'use strict';
const fs = require('fs');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');

const o = { unavailable: 0 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
	const a = argv[i];
	if (a === '--proto-dir') o.protoDir = argv[++i];
	else if (a === '--out') o.out = argv[++i];
	else if (a === '--ready') o.ready = argv[++i];
	else if (a === '--unavailable') o.unavailable = parseInt(argv[++i], 10);
	else if (a === '--require-header') o.header = argv[++i].split('=');
	else if (a === '--delay-ms') o.delay = parseInt(argv[++i], 10);
	else throw new Error('unknown argument ' + a);
}

const def = loader.loadSync('opentelemetry/proto/collector/logs/v1/logs_service.proto', {
	includeDirs: [o.protoDir], keepCase: true, longs: String, enums: Number, bytes: Buffer,
	defaults: true, oneofs: true,
});
const pkg = grpc.loadPackageDefinition(def);
const svc = pkg.opentelemetry.proto.collector.logs.v1.LogsService.service;

function anyValue(v) {
	if (!v || !v.value) return null;
	switch (v.value) {
	case 'string_value': return v.string_value;
	case 'bool_value': return v.bool_value;
	case 'int_value': return Number(v.int_value);
	case 'double_value': return v.double_value;
	case 'bytes_value': return v.bytes_value.toString('base64');
	case 'array_value': return (v.array_value.values || []).map(anyValue);
	case 'kvlist_value': return attrs(v.kvlist_value.values);
	default: return null;
	}
}

function attrs(kvs) {
	const m = {};
	for (const kv of kvs || []) m[kv.key] = anyValue(kv.value);
	return m;
}

let calls = 0;
const out = fs.openSync(o.out, 'a');
const server = new grpc.Server();
server.addService(svc, {
	Export(call, cb) {
		calls++;
		if (o.header) {
			const got = call.metadata.get(o.header[0]);
			if (!got.length || String(got[0]) !== o.header[1])
				return cb({ code: grpc.status.UNAUTHENTICATED, details: 'missing header' });
		}
		if (calls <= o.unavailable)
			return cb({ code: grpc.status.UNAVAILABLE, details: 'try later' });
		let lines = '';
		for (const rl of call.request.resource_logs || []) {
			const res = attrs(rl.resource ? rl.resource.attributes : []);
			for (const sl of rl.scope_logs || []) {
				for (const lr of sl.log_records || []) {
					lines += JSON.stringify({
						resource: res, scope: sl.scope ? sl.scope.name : '',
						time_unix_nano: lr.time_unix_nano,
						observed_time_unix_nano: lr.observed_time_unix_nano,
						severity_number: lr.severity_number, severity_text: lr.severity_text,
						body: anyValue(lr.body), attributes: attrs(lr.attributes),
						trace_id: lr.trace_id.toString('hex'), span_id: lr.span_id.toString('hex'),
					}) + '\n';
				}
			}
		}
		fs.writeSync(out, lines);
		fs.fsyncSync(out);
		if (o.delay)
			setTimeout(() => cb(null, {}), o.delay);
		else
			cb(null, {});
	},
});
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
	if (err) { console.error(err); process.exit(1); }
	fs.writeFileSync(o.ready + '.tmp', String(port));
	fs.renameSync(o.ready + '.tmp', o.ready);
});
process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
