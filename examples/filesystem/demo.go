package filesystem

import (
	"context"
	"fmt"
	"io"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/examples/filesystem/filesystempb"
	"github.com/packetflow/packetflow/intent"
)

// Demo runs the file system example in-process and prints each step to w:
// an admin writes files anywhere; an editor who may write below /docs
// writes and reads there but is denied /docsx, a ".." escape to /etc and a
// delete; a reader of one file reads it and nothing else; the admin
// deletes. It returns an error if any step's outcome is not the expected
// one.
func Demo(ctx context.Context, w io.Writer) error {
	rt, err := actor.NewRuntime(actor.Config{Name: "demo"})
	if err != nil {
		return err
	}
	defer rt.Stop()
	if err := Define(rt); err != nil {
		return err
	}
	fmt.Fprintln(w, `PacketFlow file system: volume "home"; file:admin => delete => write => read`)
	callers := map[string]*intent.Context{}
	for _, p := range []struct{ who, grant, why string }{
		// "/*" is every path below the root, so every file, since a file's
		// path is absolute. "*" would do the same here, but it covers any
		// resource at all; "/*" says that the grant is about paths.
		{"root", "file:admin:/*", "every file"},
		{"editor", "file:write:/docs/*", "write, and so read, below /docs"},
		{"reader", "file:read:/docs/report.txt", "read one file"},
	} {
		c, err := rt.NewContext(p.who, p.grant)
		if err != nil {
			return err
		}
		callers[p.who] = c
		fmt.Fprintf(w, "  %-6s holds %-26s (%s)\n", p.who, p.grant, p.why)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()

	const (
		report = "quarterly numbers"
		passwd = "root:x:0:0"
		notes  = "draft"
	)
	steps := []struct {
		who, op, path string
		content       string // written, or expected back from a read
		want          string // the error the caller gets; "" for success
		why           string
	}{
		{"root", "write", "/docs/report.txt", report, "", ""},
		{"root", "write", "/etc/passwd", passwd, "", ""},
		{"editor", "write", "/docs/a/b.txt", notes, "", "/docs/* covers every path below /docs"},
		{"editor", "read", "/docs/a/b.txt", notes, "", "write implies read"},
		{"editor", "write", "/docsx/evil.txt", "", "permission denied: missing file:write:/docsx/evil.txt",
			"/docs/* never covers /docsx"},
		{"editor", "read", "/docs/../etc/passwd", "", "permission denied: missing file:read:/etc/passwd",
			"the path is cleaned before the check"},
		{"editor", "delete", "/docs/report.txt", "", "permission denied: missing file:delete:/docs/report.txt",
			"write does not imply delete"},
		{"reader", "read", "/docs/report.txt", report, "", "exactly the granted file"},
		{"reader", "read", "/docs/a/b.txt", "", "permission denied: missing file:read:/docs/a/b.txt",
			"an exact grant covers nothing else"},
		{"root", "delete", "/docs/report.txt", "", "", "admin implies delete"},
		{"root", "read", "/docs/report.txt", "", "intent: handler failed: volume/home: no such file: /docs/report.txt",
			"it is gone"},
	}
	for _, s := range steps {
		reply, err := rt.Request(ctx, callers[s.who], fileIntent(s.op, "home", s.path, s.content))
		fmt.Fprintf(w, "%-6s %-6s %-20s -> %s\n", s.who, s.op, s.path, outcome(s.op, reply, err))
		if s.why != "" {
			fmt.Fprintf(w, "%38s(%s)\n", "", s.why)
		}
		if got := errorText(err); got != s.want {
			return fmt.Errorf("demo: %s %s %s: got error %q, want %q", s.who, s.op, s.path, got, s.want)
		}
		if f, ok := reply.(*filesystempb.File); ok && s.op == "read" && string(f.Content) != s.content {
			return fmt.Errorf("demo: %s read %q from %s, want %q", s.who, f.Content, s.path, s.content)
		}
	}
	st := rt.Stats()
	fmt.Fprintf(w, "stats: handled=%d denied=%d failed=%d\n", st.Handled, st.Denied, st.Failed)
	return nil
}

// fileIntent builds the intent to do op ("read", "write" or "delete") on
// the file at p on volume.
func fileIntent(op, volume, p, content string) proto.Message {
	switch op {
	case "read":
		return &filesystempb.ReadFile{Volume: volume, Path: p}
	case "write":
		return &filesystempb.WriteFile{Volume: volume, Path: p, Content: []byte(content)}
	default:
		return &filesystempb.DeleteFile{Volume: volume, Path: p}
	}
}

// outcome is what a step prints: the error, or ok with what was read.
func outcome(op string, reply proto.Message, err error) string {
	if err != nil {
		return err.Error()
	}
	if f, ok := reply.(*filesystempb.File); ok && op == "read" {
		return fmt.Sprintf("ok, %q", f.Content)
	}
	return "ok"
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
