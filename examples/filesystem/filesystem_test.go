package filesystem_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/capability"
	"github.com/packetflow/packetflow/examples/filesystem"
	"github.com/packetflow/packetflow/examples/filesystem/filesystempb"
	"github.com/packetflow/packetflow/intent"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// Proto.Actor's dead-letter throttle parks a goroutine for its
		// interval (1s) after the first dead letter; it is not ours to stop.
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewThrottle.func1"),
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewThrottleWithLogger.func1"),
	)
}

// start returns a runtime with the example defined. The caller stops it.
func start(t *testing.T) *actor.Runtime {
	t.Helper()
	rt, err := actor.NewRuntime(actor.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	if err := filesystem.Define(rt); err != nil {
		rt.Stop()
		t.Fatal(err)
	}
	return rt
}

// as returns a caller holding grants.
func as(t *testing.T, rt *actor.Runtime, who string, grants ...string) *intent.Context {
	t.Helper()
	c, err := rt.NewContext(who, grants...)
	require.NoError(t, err)
	return c
}

func read(volume, path string) *filesystempb.ReadFile {
	return &filesystempb.ReadFile{Volume: volume, Path: path}
}

func write(volume, path, content string) *filesystempb.WriteFile {
	return &filesystempb.WriteFile{Volume: volume, Path: path, Content: []byte(content)}
}

func del(volume, path string) *filesystempb.DeleteFile {
	return &filesystempb.DeleteFile{Volume: volume, Path: path}
}

// contentOf reads path on volume as root and returns its content, or the
// error.
func contentOf(t *testing.T, rt *actor.Runtime, volume, path string) (string, error) {
	t.Helper()
	reply, err := rt.Request(context.Background(), as(t, rt, "root", "file:admin:/*"), read(volume, path))
	if err != nil {
		return "", err
	}
	return string(reply.(*filesystempb.File).Content), nil
}

func TestDemo(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, filesystem.Demo(context.Background(), &out))
	for _, line := range []string{
		"editor write  /docs/a/b.txt        -> ok",
		`editor read   /docs/a/b.txt        -> ok, "draft"`,
		"editor write  /docsx/evil.txt      -> permission denied: missing file:write:/docsx/evil.txt",
		"editor read   /docs/../etc/passwd  -> permission denied: missing file:read:/etc/passwd",
		"editor delete /docs/report.txt     -> permission denied: missing file:delete:/docs/report.txt",
		`reader read   /docs/report.txt     -> ok, "quarterly numbers"`,
		"reader read   /docs/a/b.txt        -> permission denied: missing file:read:/docs/a/b.txt",
		"root   delete /docs/report.txt     -> ok",
		"stats: handled=6 denied=4 failed=1",
	} {
		require.Contains(t, out.String(), line)
	}
}

func TestWhoMayDoWhat(t *testing.T) {
	rt := start(t)
	defer rt.Stop()
	grants := map[string][]string{
		"root":   {"file:admin:/*"},
		"editor": {"file:write:/docs/*"},
		"reader": {"file:read:/docs/report.txt"},
		"nobody": nil,
	}
	files := map[string]string{
		"/docs/report.txt": "report",
		"/docs/a/b.txt":    "notes",
		"/etc/passwd":      "root:x:0:0",
	}
	tests := []struct {
		name, who, op, path string
		missing             string // the one capability reported missing; "" for allowed
	}{
		{"admin reads anything", "root", "read", "/etc/passwd", ""},
		{"admin writes anywhere", "root", "write", "/new/file.txt", ""},
		{"admin deletes", "root", "delete", "/etc/passwd", ""},

		{"editor writes below /docs", "editor", "write", "/docs/a/b.txt", ""},
		{"editor creates below /docs", "editor", "write", "/docs/new.txt", ""},
		{"editor reads: write implies read", "editor", "read", "/docs/report.txt", ""},
		{"editor reads a cleaned path inside /docs", "editor", "read", "/docs/a/../report.txt", ""},
		{"editor may not write /docs itself", "editor", "write", "/docs", "file:write:/docs"},
		{"editor may not write /docsx", "editor", "write", "/docsx/evil.txt", "file:write:/docsx/evil.txt"},
		{"editor may not escape /docs with ..", "editor", "read", "/docs/../etc/passwd", "file:read:/etc/passwd"},
		{"editor may not escape /docs with deeper ..", "editor", "write", "/docs/a/../../etc/passwd", "file:write:/etc/passwd"},
		{"editor may not delete: write does not imply delete", "editor", "delete", "/docs/report.txt", "file:delete:/docs/report.txt"},

		{"reader reads the granted file", "reader", "read", "/docs/report.txt", ""},
		{"reader reads the granted file by a longer path", "reader", "read", "/docs/./a/../report.txt", ""},
		{"reader may not read another file", "reader", "read", "/docs/a/b.txt", "file:read:/docs/a/b.txt"},
		{"reader may not write: read does not imply write", "reader", "write", "/docs/report.txt", "file:write:/docs/report.txt"},

		{"nobody may read", "nobody", "read", "/docs/report.txt", "file:read:/docs/report.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			volume := tt.name // a fresh volume per case
			root := as(t, rt, "root", grants["root"]...)
			for p, content := range files {
				_, err := rt.Request(context.Background(), root, write(volume, p, content))
				require.NoError(t, err)
			}

			_, err := rt.Request(context.Background(), as(t, rt, tt.who, grants[tt.who]...), fileIntent(tt.op, volume, tt.path))
			if tt.missing == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, capability.ErrPermissionDenied)
			var denied *capability.DeniedError
			require.True(t, errors.As(err, &denied), "%T is not a *capability.DeniedError", err)
			require.Equal(t, []capability.Capability{capability.MustParse(tt.missing)}, denied.Missing)
		})
	}
}

func TestDeniedWriteChangesNothing(t *testing.T) {
	rt := start(t)
	defer rt.Stop()
	root := as(t, rt, "root", "file:admin:/*")
	editor := as(t, rt, "editor", "file:write:/docs/*")
	_, err := rt.Request(context.Background(), root, write("home", "/etc/passwd", "root:x:0:0"))
	require.NoError(t, err)
	before := rt.Stats()

	_, err = rt.Request(context.Background(), editor, write("home", "/docs/../etc/passwd", "evil"))
	require.ErrorIs(t, err, capability.ErrPermissionDenied)
	_, err = rt.Request(context.Background(), editor, write("home", "/docsx/evil.txt", "evil"))
	require.ErrorIs(t, err, capability.ErrPermissionDenied)

	after := rt.Stats()
	require.Equal(t, before.Handled, after.Handled, "a denied intent reached the reactor")
	require.Equal(t, before.Denied+2, after.Denied)
	got, err := contentOf(t, rt, "home", "/etc/passwd")
	require.NoError(t, err)
	require.Equal(t, "root:x:0:0", got)
	_, err = contentOf(t, rt, "home", "/docsx/evil.txt")
	require.ErrorIs(t, err, intent.ErrFailed)
	require.ErrorContains(t, err, "no such file: /docsx/evil.txt")
}

func TestFailedHandlerChangesNothing(t *testing.T) {
	rt := start(t)
	defer rt.Stop()
	root := as(t, rt, "root", "file:admin:/*")
	_, err := rt.Request(context.Background(), root, write("home", "/a.txt", "a"))
	require.NoError(t, err)

	_, err = rt.Request(context.Background(), root, del("home", "/missing.txt"))
	require.ErrorIs(t, err, intent.ErrFailed)
	require.ErrorContains(t, err, "no such file: /missing.txt")
	_, err = rt.Request(context.Background(), root, read("home", "/missing.txt"))
	require.ErrorIs(t, err, intent.ErrFailed)
	require.ErrorContains(t, err, "no such file: /missing.txt")

	got, err := contentOf(t, rt, "home", "/a.txt")
	require.NoError(t, err)
	require.Equal(t, "a", got)
	_, err = contentOf(t, rt, "home", "/missing.txt")
	require.ErrorContains(t, err, "no such file: /missing.txt")

	// The reactor goes on working after a failure.
	_, err = rt.Request(context.Background(), root, del("home", "/a.txt"))
	require.NoError(t, err)
	_, err = contentOf(t, rt, "home", "/a.txt")
	require.ErrorContains(t, err, "no such file: /a.txt")
}

func TestInvalidIntentsChangeNothing(t *testing.T) {
	rt := start(t)
	defer rt.Stop()
	root := as(t, rt, "root", "file:admin:/*")
	_, err := rt.Request(context.Background(), root, write("home", "/a.txt", "a"))
	require.NoError(t, err)
	before := rt.Stats()

	tests := []struct {
		name, volume, path string
	}{
		{"empty path", "home", ""},
		{"relative path", "home", "a.txt"},
		{"relative path with dot", "home", "./a.txt"},
		{"the root", "home", "/"},
		{"the root by another name", "home", "/docs/.."},
		{"a pattern", "home", "/docs/*"},
		{"a star", "home", "*"},
		{"whitespace", "home", "/a b.txt"},
		{"empty volume", "", "/a.txt"},
	}
	for _, tt := range tests {
		for _, op := range []string{"read", "write", "delete"} {
			t.Run(tt.name+"/"+op, func(t *testing.T) {
				_, err := rt.Request(context.Background(), root, fileIntent(op, tt.volume, tt.path))
				require.ErrorIs(t, err, intent.ErrInvalid)
			})
		}
	}

	after := rt.Stats()
	require.Equal(t, before.Handled, after.Handled, "an invalid intent reached the reactor")
	require.Equal(t, before.Failed, after.Failed, "an invalid intent reached the reactor")
	got, err := contentOf(t, rt, "home", "/a.txt")
	require.NoError(t, err)
	require.Equal(t, "a", got)
}

// fileIntent builds the intent to do op ("read", "write" or "delete") on
// the file at path on volume.
func fileIntent(op, volume, path string) proto.Message {
	switch op {
	case "read":
		return read(volume, path)
	case "write":
		return write(volume, path, "x")
	default:
		return del(volume, path)
	}
}
