// Package capability decides whether a caller may do what an intent asks.
//
// A capability is a (domain, operation, resource) triple. Each domain has a
// Schema declaring its operations and which operations imply which others.
// A node keeps its schemas in a Catalog; requirements (what an intent needs)
// and grants (what a caller holds, for a window of time) are compiled
// against the catalog, and GrantSet.Check compares them without allocating.
//
// # Text form
//
// A capability is written "domain:op" or "domain:op:resource", split on the
// first two colons, so the resource may itself contain colons
// ("net:connect:10.0.0.1:443"). Domain and operation names match
// [a-z][a-z0-9_-]* and are at most 64 bytes; the whole string is at most
// 1024 bytes. Parse reports what is wrong and at which byte offset, as a
// *ParseError. Parse(c.String()) == c for every valid c, and
// Parse(s).String() == s for every canonical s.
//
// # Resources
//
//   - A missing resource ("user:basic") and "*" both mean any resource.
//     They check alike but format as written.
//   - A resource containing "/" is a path and is cleaned with path.Clean, so
//     "file:read:/docs/../etc/passwd" is "file:read:/etc/passwd". A relative
//     path that climbs above its start with ".." is an error, as is one that
//     cleans to nothing ("a/.."); "." and ".." alone count as paths.
//   - A path ending in "/*" is a subtree pattern: "/docs/*" covers
//     "/docs/a", "/docs/a/b" and the pattern "/docs/a/*", but not "/docs"
//     itself and never "/docsx". "/*" covers every absolute path but "/".
//     "*" anywhere else is an error.
//   - Any other resource is an opaque name that covers only itself.
//   - No resource may be invalid UTF-8 or contain whitespace, control
//     characters or NUL.
//
// Coverage (see Covers) is a partial order on canonical resources.
//
// # Implication
//
// A Schema lists at most 64 operations and implications between them, for
// example admin ⇒ delete ⇒ write ⇒ read. Implication is reflexive (every
// operation implies itself) and transitive; a cycle, including a ⇒ a, is
// an error, as are repeated operations or edges and undeclared names.
// The closure is computed once, in NewSchema.
//
// # The check
//
// A grant satisfies a requirement when both are in the same domain, the
// grant's operation implies the required one, the grant's resource covers
// the required one, and the check's time is in [NotBefore, NotAfter). A
// denial is a *DeniedError naming exactly the unsatisfied requirements; it
// matches ErrPermissionDenied. GrantSet.Narrow and GrantSet.Filter
// attenuate a set and never widen it.
package capability
