// read-stream.mjs — an independent reader of elog's JetStream stream (the `nats` package
// from npm, not libnats): reads every message of STREAM with an ordered consumer and checks
// the format README "Several machines" documents. Prints one JSON line per message
// {subject, msgid, headers, payload} to stdout (for the test to check further), and the
// violations on stderr; exits 1 if there is one.
//   node read-stream.mjs SERVERS STREAM     ($NATS_CREDS: log in with that .creds file)
import { connect, credsAuthenticator } from "nats";
import { readFileSync } from "node:fs";

const [servers, stream] = process.argv.slice(2);
const auth = process.env.NATS_CREDS ?
	{ authenticator: credsAuthenticator(readFileSync(process.env.NATS_CREDS)) } : {};
const nc = await connect({ servers: servers.split(","), timeout: 5000, ...auth });
const jsm = await nc.jetstreamManager();
const info = await jsm.streams.info(stream);
const total = info.state.messages;
const js = nc.jetstream();
const c = await js.consumers.get(stream);   // ordered consumer over the whole stream
const bad = [];
const prevOf = new Map();                   // node -> last id seen
const keys = ["node", "id", "ts", "ts_ns", "arrival_ns", "level", "component", "msg", "source", "fields"];
const token = (s) => s === "" ? "%" : Array.from(new TextEncoder().encode(s)).map((b) =>
	/[A-Za-z0-9_-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b)
		: "%" + b.toString(16).toUpperCase().padStart(2, "0")).join("");
let n = 0;
if (total > 0) {
	const msgs = await c.fetch({ max_messages: total, expires: 30000 });
	for await (const m of msgs) {
		n++;
		const h = {};
		for (const [k, v] of m.headers) h[k] = v[0];
		let p;
		try { p = m.json(); } catch (e) { bad.push(`seq ${m.seq}: payload is not JSON`); continue; }
		for (const k of keys) if (!(k in p)) bad.push(`seq ${m.seq}: payload has no '${k}'`);
		const want = `elog.${token(p.node)}.${token(p.component)}`;
		if (token(p.component).length <= 96 && m.subject !== want)
			bad.push(`seq ${m.seq}: subject ${m.subject}, expected ${want}`);
		if (h["Nats-Msg-Id"] !== `${p.node}/${p.id}`)
			bad.push(`seq ${m.seq}: Nats-Msg-Id ${h["Nats-Msg-Id"]}, expected ${p.node}/${p.id}`);
		if (h["Elog-Level"] !== p.level) bad.push(`seq ${m.seq}: Elog-Level ${h["Elog-Level"]} != ${p.level}`);
		if (h["Elog-Time"] !== p.ts) bad.push(`seq ${m.seq}: Elog-Time ${h["Elog-Time"]} != ${p.ts}`);
		if (h["Elog-Node"] !== p.node) bad.push(`seq ${m.seq}: Elog-Node ${h["Elog-Node"]} != ${p.node}`);
		if (h["Elog-Id"] !== String(p.id)) bad.push(`seq ${m.seq}: Elog-Id ${h["Elog-Id"]} != ${p.id}`);
		if (typeof p.fields !== "object" || p.fields === null || Array.isArray(p.fields))
			bad.push(`seq ${m.seq}: fields is not an object`);
		if (Date.parse(p.ts) !== Math.floor(p.ts_ns / 1e6))
			bad.push(`seq ${m.seq}: ts ${p.ts} is not ts_ns ${p.ts_ns}`);
		const last = prevOf.get(p.node) ?? 0;
		if (h["Elog-Prev"] !== String(last))
			bad.push(`seq ${m.seq}: Elog-Prev ${h["Elog-Prev"]}, the node's previous id is ${last}`);
		if (p.id <= last) bad.push(`seq ${m.seq}: id ${p.id} of ${p.node} after ${last}`);
		prevOf.set(p.node, p.id);
		console.log(JSON.stringify({ subject: m.subject, seq: m.seq, headers: h, payload: p }));
		if (n >= total) break;
	}
}
if (n !== total) bad.push(`read ${n} messages, the stream holds ${total}`);
for (const b of bad.slice(0, 20)) console.error(b);
await nc.close();
process.exit(bad.length ? 1 : 0);
