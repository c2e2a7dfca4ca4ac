// Package web serves a PacketFlow node's HTTP API: the entry point for
// callers outside the process. It authenticates callers by bearer token,
// turns a JSON intent into the protobuf intent it names and sends it through
// the node, so that it passes the same plugins and capability-checked
// mailboxes as an intent from the embedding API or a peer.
//
// Routes (every body is JSON, Content-Type application/json):
//
//	GET  /healthz      200 {"status":"ok",...} once the node is a cluster member and its state store serves, 503 before
//	GET  /v1/members   {"members":[{"id","name","address","kinds","status"}]}
//	POST /v1/intents   Authorization: Bearer TOKEN,
//	                   {"kind":"counter","id":"c1","type":"packetflow.examples.counter.v1.Increment","payload":{"by":1}}
//	                   → 200 {"type":"packetflow.examples.counter.v1.Value","result":{"counter":"c1","count":"1"}}
//	GET  /metrics      Prometheus text format
//	GET  /v1/chaos     fault injection rules and counts (principals holding chaos:inject; 404 unless Config.Faults)
//	PUT  /v1/chaos     {"rules":[{"kind":"counter","type":"Increment","rate":0.1,"action":"panic"}]} replaces them ([] clears)
//
// A caller's identity and capabilities come only from the Principals table
// (a grants file, DevPrincipals, or both): a token names a principal, and
// the intent runs with that principal's capabilities, never with anything
// the request body says. The payload is protojson (int64 values are JSON
// strings, zero values are included in replies). The id names the reactor
// instance and fills the message's identity field when the payload leaves
// it empty; a payload naming another instance is an error.
//
// Every error is {"error":{"code":"…","message":"…"}}; a denial adds
// "missing" (the capabilities the principal lacks) and a plugin's rejection
// adds "plugin". Codes and statuses:
//
//	invalid_argument    400  malformed JSON, unknown field or type, payload that does not fit, id mismatch, wrong kind for the type
//	unsupported         400  the reactor kind does not handle the intent type
//	unauthenticated     401  missing, malformed or unknown bearer token
//	permission_denied   403  the principal lacks capabilities ("missing")
//	not_found           404  unknown reactor kind or route
//	method_not_allowed  405
//	payload_too_large   413  request body over MaxBodyBytes
//	rejected            422  a plugin refused the intent ("plugin")
//	failed              422  the reactor's handler returned an error or panicked
//	internal            500  anything else (logged; the message names only the request id)
//	unavailable         503  node not ready, stopped, or the target member unreachable
//	deadline_exceeded   504  the intent was not answered within Config.RequestTimeout
//
// Each response to POST /v1/intents that got as far as authentication
// carries the intent's request id in the X-Request-Id header, which the
// node's logs use too.
//
// The handler owns a Prometheus registry of its own (nothing is registered
// in the global one): HTTP intents by type and code, their latency, denials
// of intents from every entry point, members by status, the runtime's
// counters, Go and process metrics, and memberlist's metrics, which
// memberlist reports through hashicorp/go-metrics and this package bridges
// (see NewHandler). The handler sets no server timeouts: the http.Server that
// serves it should set ReadHeaderTimeout and friends.
package web
