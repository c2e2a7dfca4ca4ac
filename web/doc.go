// Package web is a PacketFlow node's web substrate: its HTTP API, its
// dashboard, and the router and capability-aware components that both are
// built from — and that an application embedding a node builds its own
// pages and API with (see examples/web).
//
// # Router
//
// Every route is declared as a Route on one Router (Handler.Handle adds an
// application's): method, ServeMux path pattern, and who may call it. Before
// the route's handler runs the router
//
//   - authenticates the caller: a bearer token (Authorization: Bearer
//     TOKEN) naming a principal of Config.Principals, or, on pages only, a
//     session cookie from the login page; Public routes also serve callers
//     without credentials;
//   - builds the caller's PacketFlow context (intent.Context, via the
//     runtime's NewContext): the principal, a fresh request id and the
//     principal's grants, never anything the request says — Caller returns
//     it, and handlers send intents with it, so reactor mailboxes check the
//     same grants again;
//   - checks Route.Requires with the implication hierarchy and resource
//     patterns of the node's capability catalog: "/files/{path...}"
//     requiring "file:read:/{path}" needs file:read:/docs/a for
//     /files/docs/a, which a grant of file:write:/docs/* satisfies (write
//     implies read, /docs/* covers /docs/a). A path value that would make
//     the resource invalid, a pattern ("*") or not canonical is a 400, so
//     the capability checked names exactly what the handler serves.
//
// Refusals are 401 (no or unknown credentials) and 403 (missing
// capabilities, listed in "missing"), as JSON on API routes and as a
// readable HTML page on pages (a 401 page carries the login form).
//
// # Routes of a node
//
//	GET  /healthz       public  200 {"status":"ok",...} once the node is a cluster member and its state store serves, 503 before
//	GET  /v1/members    public  {"members":[{"id","name","address","kinds","status"}]}
//	GET  /v1/stats      public  this node's NodeStats: runtime counters, active instances by kind, rates
//	POST /v1/intents    token   {"kind":"counter","id":"c1","type":"packetflow.examples.counter.v1.Increment","payload":{"by":1}}
//	                            → 200 {"type":"packetflow.examples.counter.v1.Value","result":{"counter":"c1","count":"1"}}
//	GET  /metrics       public  Prometheus text format
//	GET  /v1/chaos      chaos:inject  fault injection rules and counts (404 unless Config.Faults)
//	PUT  /v1/chaos      chaos:inject  {"rules":[{"kind":"counter","type":"Increment","rate":0.1,"action":"panic"}]} replaces them ([] clears)
//	GET  /              page    the dashboard
//	GET  /dashboard/stream            page  its live updates (server-sent events)
//	POST /dashboard/chaos             page, chaos:inject  the dashboard's fault injection form
//	POST /dashboard/components/{name}/rollback  page, the component's RollbackRequires
//	GET  /login, POST /login          page, public  sign in with an API token
//	POST /logout                      page  sign out
//	GET  /assets/{file}               public  the pages' style sheet and script
//
// A GET route answers HEAD too; another method is a 405 with an Allow
// header. A path no route declares is a 404, as a page for a browser asking
// for HTML outside /v1/, as JSON otherwise.
//
// # Intents over HTTP
//
// POST /v1/intents turns a JSON intent into the protobuf intent it names
// and sends it through the node, so that it passes the same plugins and
// capability-checked mailboxes as an intent from the embedding API or a
// peer. The payload is protojson (int64 values are JSON strings, zero
// values are included in replies). The id names the reactor instance and
// fills the message's identity field when the payload leaves it empty; a
// payload naming another instance is an error. Each response that got as
// far as authentication carries the intent's request id in the X-Request-Id
// header, which the node's logs use too.
//
// Every API error is {"error":{"code":"…","message":"…"}}; a denial adds
// "missing" (the capabilities the principal lacks) and a plugin's rejection
// adds "plugin". Codes and statuses:
//
//	invalid_argument    400  malformed JSON or form, unknown field or type, payload that does not fit, id mismatch, bad path value
//	unsupported         400  the reactor kind does not handle the intent type
//	unauthenticated     401  missing, malformed or unknown bearer token; no or ended session
//	permission_denied   403  the principal lacks capabilities ("missing")
//	forbidden           403  a cross-origin request, or a page's form without its CSRF token
//	not_found           404  unknown reactor kind or route
//	method_not_allowed  405
//	conflict            409  (an application's, through Router.Error)
//	payload_too_large   413  request body over MaxBodyBytes
//	rejected            422  a plugin refused the intent ("plugin")
//	failed              422  the reactor's handler returned an error or panicked
//	internal            500  anything else (logged; the message names only the request id)
//	unavailable         503  node not ready, stopped, the target member unreachable, too many live dashboards
//	deadline_exceeded   504  the intent was not answered within Config.RequestTimeout
//
// # Pages and browsers
//
// Pages are rendered on the server with html/template (escaped for their
// context by default) and work without JavaScript; one small embedded
// script swaps in the dashboard's live sections. They are served with a
// Content-Security-Policy that allows scripts and styles from the node only.
//
// A browser signs in on /login with an API token. The node then keeps a
// session (in memory: Config.SessionTTL, Config.MaxSessions) and sets the
// cookie SessionCookie to the session's random secret — HttpOnly,
// SameSite=Strict, Secure over TLS; the token is not stored in the browser.
// Cookies authenticate pages only, never the API. A state-changing page
// request (POST, PUT, PATCH, DELETE) authenticated by a cookie must be
// same-origin (net/http's CrossOriginProtection) and carry the session's
// CSRF token (form field CSRFField or header X-CSRF-Token; CSRFToken gives
// it to templates).
//
// # Components
//
// A Component is an html/template that declares the capabilities a viewer
// needs; Components.Render and the {{component "name" data}} template
// function render it, render its fallback, or leave it out, by the viewer's
// grants — the same check as routes and mailboxes.
//
// # Dashboard
//
// The dashboard at / shows the node's view of the cluster: members and
// their status; reactor activations and intent rates per member (this
// node's own, and other members' from their GET /v1/stats when
// Config.PeerURL locates them — otherwise this node's only, and the page
// says so); intents handled, denied and failed per second; supervision
// counts and recent events (Config.Events, Config.Supervision); alerts
// (not ready, members not alive, components not healthy, fault injection
// on, recent warnings); components and their health (Config.Components,
// "no components" when nil). Viewers holding chaos:inject see the fault
// injection form, and viewers holding a component's RollbackRequires see
// its roll-back action; others do not. Live viewers get an update each
// Config.DashboardRefresh over server-sent events; each stream runs on its
// request's goroutine and ends with the request or Handler.Close.
//
// The handler owns a Prometheus registry of its own (nothing is registered
// in the global one): HTTP intents by type and code, their latency, denials
// of intents from every entry point, members by status, the runtime's
// counters, Go and process metrics, and memberlist's metrics, which
// memberlist reports through hashicorp/go-metrics and this package bridges
// (see NewHandler). The handler sets no server timeouts: the http.Server that
// serves it should set ReadHeaderTimeout and friends, but no WriteTimeout,
// which would cut live dashboards off.
package web
