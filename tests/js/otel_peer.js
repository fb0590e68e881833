// otel_peer.js — the official OpenTelemetry JavaScript SDK as a peer of `elog serve` (t82xx).
// Records are made by the SDK (LoggerProvider / BasicTracerProvider into an in-memory
// exporter), then exported with the SDK's own OTLP/gRPC exporter (or, with --http, its
// OTLP/HTTP exporter: exporter-*-otlp-proto, or exporter-logs-otlp-http with --json), whose
// result is printed as one JSON line: {"code":0} on success, {"code":1,"error":"..."} on failure.
//
//   node otel_peer.js logs|traces --target 127.0.0.1:PORT [--n N] [--batch B]
//        [--header K=V]... [--gzip] [--service NAME] [--no-service]
//        [--http http://127.0.0.1:PORT [--json]]
'use strict';
const grpc = require('@grpc/grpc-js');
const { resourceFromAttributes, emptyResource } = require('@opentelemetry/resources');

function parse(argv) {
	const o = { kind: argv[0], n: 5, batch: 512, headers: [], gzip: false, service: 'jsdemo' };
	for (let i = 1; i < argv.length; i++) {
		const a = argv[i];
		if (a === '--target') o.target = argv[++i];
		else if (a === '--n') o.n = parseInt(argv[++i], 10);
		else if (a === '--batch') o.batch = parseInt(argv[++i], 10);
		else if (a === '--header') o.headers.push(argv[++i]);
		else if (a === '--gzip') o.gzip = true;
		else if (a === '--service') o.service = argv[++i];
		else if (a === '--no-service') o.service = null;
		else if (a === '--http') o.http = argv[++i];
		else if (a === '--json') o.json = true;
		else throw new Error('unknown argument ' + a);
	}
	return o;
}

// Counts the messages grpc-js sends gzip-compressed (so a test knows the server got gzip).
let gzipped = 0;
function countGzip() {
	const cf = require('@grpc/grpc-js/build/src/compression-filter');
	const orig = cf.CompressionFilter.prototype.sendMessage;
	cf.CompressionFilter.prototype.sendMessage = function (m) {
		if (this.currentCompressionAlgorithm === 'gzip')
			gzipped++;
		return orig.call(this, m);
	};
}

function exporterConfig(o) {
	if (o.http) {
		const headers = {};
		for (const h of o.headers) {
			const eq = h.indexOf('=');
			headers[h.slice(0, eq)] = h.slice(eq + 1);
		}
		return { url: o.http + (o.kind === 'logs' ? '/v1/logs' : '/v1/traces'), headers,
			compression: o.gzip ? 'gzip' : 'none', timeoutMillis: 20000 };
	}
	const md = new grpc.Metadata();
	for (const h of o.headers) {
		const eq = h.indexOf('=');
		md.set(h.slice(0, eq), h.slice(eq + 1));
	}
	return {
		url: 'http://' + o.target,
		credentials: grpc.credentials.createInsecure(),
		metadata: md,
		compression: o.gzip ? 'gzip' : 'none',
		timeoutMillis: 20000,
	};
}

function resource(o) {
	if (o.service === null)
		return emptyResource();
	return resourceFromAttributes({ 'service.name': o.service, 'host.name': 'peerhost',
		'deployment.environment': 'test' });
}

function exportAll(exporter, items, batch) {
	return new Promise((resolve) => {
		let i = 0;
		const next = () => {
			if (i >= items.length)
				return resolve({ code: 0 });
			const part = items.slice(i, i + batch);
			i += batch;
			exporter.export(part, (res) => {
				if (res.code !== 0)
					return resolve({ code: res.code,
						error: res.error ? String(res.error.message || res.error) : '' });
				next();
			});
		};
		next();
	});
}

async function logs(o) {
	const { LoggerProvider, SimpleLogRecordProcessor, InMemoryLogRecordExporter } =
		require('@opentelemetry/sdk-logs');
	const { OTLPLogExporter } = require(!o.http ? '@opentelemetry/exporter-logs-otlp-grpc' :
		o.json ? '@opentelemetry/exporter-logs-otlp-http' : '@opentelemetry/exporter-logs-otlp-proto');
	const { SeverityNumber } = require('@opentelemetry/api-logs');
	const mem = new InMemoryLogRecordExporter();
	const provider = new LoggerProvider({ resource: resource(o),
		processors: [new SimpleLogRecordProcessor({ exporter: mem })] });
	const logger = provider.getLogger('jsscope', '1.2.3');
	const sev = [SeverityNumber.TRACE, SeverityNumber.DEBUG, SeverityNumber.INFO,
		SeverityNumber.WARN2, SeverityNumber.ERROR, SeverityNumber.FATAL4];
	for (let i = 0; i < o.n; i++) {
		const rec = { severityNumber: sev[i % sev.length], body: 'js log ' + i,
			attributes: { 'seq': i, 'user.id': 'u' + (i % 3), 'ok': i % 2 === 0 } };
		if (i === 0) {
			// The first record: structured body, a text-only severity, trace context.
			rec.body = { event: 'login', tries: 2, tags: ['a', 'b'] };
			rec.severityNumber = undefined;
			rec.severityText = 'Warning';
			rec.context = require('@opentelemetry/api').trace.setSpanContext(
				require('@opentelemetry/api').context.active(),
				{ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331',
					traceFlags: 1 });
			rec.timestamp = new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678));
		}
		logger.emit(rec);
	}
	await provider.forceFlush();
	await new Promise((r) => setImmediate(r));
	const records = mem.getFinishedLogRecords();
	if (records.length !== o.n)
		throw new Error("sdk made " + records.length + " records");
	const exporter = new OTLPLogExporter(exporterConfig(o));
	const res = await exportAll(exporter, records, o.batch);
	await exporter.shutdown();
	return res;
}

async function traces(o) {
	const { BasicTracerProvider, SimpleSpanProcessor, InMemorySpanExporter } =
		require('@opentelemetry/sdk-trace-base');
	const { OTLPTraceExporter } = require(o.http ? '@opentelemetry/exporter-trace-otlp-proto' :
		'@opentelemetry/exporter-trace-otlp-grpc');
	const api = require('@opentelemetry/api');
	const mem = new InMemorySpanExporter();
	const provider = new BasicTracerProvider({ resource: resource(o),
		spanProcessors: [new SimpleSpanProcessor(mem)] });
	const tracer = provider.getTracer('jstracer', '0.1');
	const t0 = Date.now();
	for (let i = 0; i < o.n; i++) {
		const root = tracer.startSpan('request ' + i, { startTime: t0 + i, attributes: { 'seq': i } });
		const ctx = api.trace.setSpan(api.context.active(), root);
		const child = tracer.startSpan('db query', { startTime: t0 + i }, ctx);
		if (i % 4 === 3)
			child.setStatus({ code: api.SpanStatusCode.ERROR, message: 'boom' });
		child.end(t0 + i + 12.3);
		root.end(t0 + i + 20);
	}
	await provider.forceFlush();
	await new Promise((r) => setImmediate(r));
	const spans = mem.getFinishedSpans();
	if (spans.length !== 2 * o.n)
		throw new Error('sdk made ' + spans.length + ' spans');
	const exporter = new OTLPTraceExporter(exporterConfig(o));
	const res = await exportAll(exporter, spans, o.batch);
	await exporter.shutdown();
	return res;
}

(async () => {
	const o = parse(process.argv.slice(2));
	let res;
	if (o.gzip && !o.http)
		countGzip();
	try {
		res = o.kind === 'logs' ? await logs(o) : await traces(o);
	} catch (e) {
		res = { code: 2, error: String(e && e.stack || e) };
	}
	if (o.gzip)
		res.gzipped = gzipped;
	process.stdout.write(JSON.stringify(res) + '\n');
	process.exit(res.code === 0 ? 0 : 1);
})();
