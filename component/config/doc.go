// Package config keeps a component's configuration: typed, validated,
// versioned, watched, and shared by every cluster member that uses the same
// store.
//
// A Schema declares the fields: each has a dotted key ("db.pool.size"), a
// Type (string, int, float, bool, duration, list of strings), and may be
// required, have a default, and have its own check; the schema may also
// check across fields. A Config holds one component's configuration under
// that schema:
//
//   - Current returns an immutable Snapshot; Get(key) of a key without a
//     value is an error matching ErrNotFound.
//   - Update, Rollback, Import and SetSchema validate first and change
//     nothing when validation fails; the error names each field at fault
//     (a *FieldError with Field and Reason, matching ErrInvalid).
//   - Every change is a new version, numbered 1, 2, 3 and so on with no
//     gaps. The last Options.History versions are kept; Rollback(n)
//     commits a kept version's values again as a new version.
//   - Watch delivers each change, once and in order, to the running
//     component (a component's actor typically has its watcher send the
//     new snapshot to itself).
//   - Export and Import move the current values as nested JSON.
//
// # Replication
//
// A Config keeps its versions in a store.Store, as one record per component
// (key StoreKind / component name) holding every kept version. Each change
// is one compare-and-commit of that record, so the record's version is the
// configuration's version. When another member committed first, the store
// answers store.ErrConflict and the writer reloads, applies and validates
// its change again against the newer version, and retries (at most
// Options.MaxAttempts times, with a short random backoff). Members that
// share a replicated store (store/replicated) therefore share one totally
// ordered history in which no acknowledged change is lost; Refresh, or
// polling with Options.PollInterval, brings another member's versions to
// this one and to its watchers. The schema itself is code, not data: every
// member should run with the same one.
//
// A write that fails in the store changes nothing this member reads, and
// its error wraps the store's; after store.ErrFailed the outcome is
// unknown, and Refresh shows whether the version landed. All kept versions
// travel in one record, so History times the size of a configuration must
// stay under store.MaxDataLen (16 MiB); a larger write is refused with
// store.ErrInvalid.
//
// # Templates
//
// A string value given to Update, Import or Options.Initial may refer to
// the environment of the member that writes it:
//
//	${ENV:NAME}            the value of environment variable NAME; an
//	                       unset variable is an error naming the field
//	${ENV:NAME:-fallback}  NAME's value, or fallback when NAME is unset
//	$${                    a literal "${"
//
// NAME is [A-Za-z_][A-Za-z0-9_]*; the fallback runs to the next '}'. A
// template may sit inside a longer string ("postgres://${ENV:DB_HOST}/app")
// and in each item of a list. When a template fills a field that is not a
// string, the expanded text is parsed as the field's type, so
// "${ENV:PORT}" can set an Int. Any other "${" is an error. The variables
// come from Options.LookupEnv (os.LookupEnv by default), so a deployment
// gates values by its environment: the same Initial or import document
// yields each environment's own values.
//
// Templates are expanded once, by the member that writes the change,
// before validation: history, Export and every member hold the expanded
// values, and Export writes a literal "${" as "$${" so that Import reads it
// back unchanged.
package config
