// make-creds.mjs — NATS operator-mode credentials for elog's tests (t8405): an operator, an
// account with JetStream (no limits) and a user of it, as nats-server 2.9 reads them with
// `resolver: MEMORY`. The keys come from nkeys.js (the npm nats client's own nkeys); each JWT
// is base64url(header).base64url(claims).base64url(ed25519 signature of the first two by the
// issuer's key), the NATS JWT v2 claim format (type operator/account/user, version 2).
//   node make-creds.mjs DIR
// writes DIR/server.conf.inc (operator, resolver and resolver_preload lines for a server
// config), DIR/user.creds (the user's JWT and nkey seed, the .creds file format) and
// DIR/stranger.creds (a user of an account the server does not know: refused).
import { createOperator, createAccount, createUser } from "nkeys.js";
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";

const dir = process.argv[2];
const b64u = (b) => Buffer.from(b).toString("base64url");
const now = Math.floor(Date.now() / 1000);
let serial = 0;

function jwt(issuerKp, subject, name, nats) {
	const claims = { iat: now, iss: issuerKp.getPublicKey(), name, sub: subject, nats };
	// jti: an id unique to these claims (the JWT library uses a hash of them)
	claims.jti = createHash("sha256").update(JSON.stringify(claims) + serial++).digest("hex")
		.slice(0, 52).toUpperCase();
	const head = b64u(JSON.stringify({ typ: "JWT", alg: "ed25519-nkey" }));
	const body = b64u(JSON.stringify(claims));
	const sig = issuerKp.sign(new TextEncoder().encode(`${head}.${body}`));
	return `${head}.${body}.${b64u(sig)}`;
}

// no limits; JetStream on unless js is false (the system account may not have it)
function account(op, name, js = true) {
	const kp = createAccount();
	const limits = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true,
		conn: -1, leaf: -1 };
	if (js)
		Object.assign(limits, { mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 });
	return { kp, jwt: jwt(op, kp.getPublicKey(), name,
		{ limits, default_permissions: { pub: {}, sub: {} }, type: "account", version: 2 }) };
}
function creds(acct, name) {
	const kp = createUser();
	const ujwt = jwt(acct.kp, kp.getPublicKey(), name,
		{ pub: {}, sub: {}, subs: -1, data: -1, payload: -1, type: "user", version: 2 });
	return `-----BEGIN NATS USER JWT-----\n${ujwt}\n------END NATS USER JWT------\n\n` +
		"************************* IMPORTANT *************************\n" +
		"NKEY Seed printed below can be used to sign and prove identity.\n" +
		"NKEYs are sensitive and should be treated as secrets.\n\n" +
		`-----BEGIN USER NKEY SEED-----\n${new TextDecoder().decode(kp.getSeed())}\n` +
		"------END USER NKEY SEED------\n\n*************************************************************\n";
}

const op = createOperator();
const opJwt = jwt(op, op.getPublicKey(), "elog-test-operator", { type: "operator", version: 2 });
const sys = account(op, "SYS", false);
const elog = account(op, "ELOG");
writeFileSync(`${dir}/server.conf.inc`,
	`operator: "${opJwt}"\n` +
	`system_account: ${sys.kp.getPublicKey()}\n` +
	"resolver: MEMORY\n" +
	"resolver_preload: {\n" +
	`  ${sys.kp.getPublicKey()}: "${sys.jwt}"\n` +
	`  ${elog.kp.getPublicKey()}: "${elog.jwt}"\n` +
	"}\n");
writeFileSync(`${dir}/user.creds`, creds(elog, "box"), { mode: 0o600 });
// an account signed by this operator but never preloaded: the server cannot resolve it
writeFileSync(`${dir}/stranger.creds`, creds(account(op, "STRANGER"), "stranger"), { mode: 0o600 });
