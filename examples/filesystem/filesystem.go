// Package filesystem is the seed's file system example on PacketFlow: files
// on named volumes that callers read, write and delete, each operation
// guarded by a capability over the file's path, with
// admin ⇒ delete ⇒ write ⇒ read. Copy Define to guard resources of your own.
package filesystem

import (
	"errors"
	"fmt"
	"maps"
	"path"
	"strings"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/capability"
	"github.com/packetflow/packetflow/examples/filesystem/filesystempb"
	"github.com/packetflow/packetflow/intent"
)

// Define registers the example on rt: the "file" capabilities, the file
// intents and the volume reactor.
//
// Every intent requires file:<op>:<path> for the cleaned, absolute path it
// names, so "file:write:/docs/*" lets its holder write, and read, anything
// below /docs on every volume (the capability names paths, not volumes).
func Define(rt *actor.Runtime) error {
	// Capabilities with implications: admin ⇒ delete ⇒ write ⇒ read.
	if err := rt.DefineSchema("file", []string{"read", "write", "delete", "admin"},
		capability.Implies("admin", "delete"),
		capability.Implies("delete", "write"),
		capability.Implies("write", "read"),
	); err != nil {
		return err
	}
	// Intents whose requirements depend on the path they name, routed to
	// the volume they name.
	if err := registerIntents(rt.Types()); err != nil {
		return err
	}
	// The reactor: state is the volume's files, path → content. A handler
	// never changes the map it is given but returns a changed copy, so a
	// handler that fails leaves the committed state as it was.
	volume := actor.NewReactor("volume", func(string) map[string]string { return map[string]string{} })
	actor.Handle(volume, func(_ *actor.Call, files map[string]string, in *filesystempb.ReadFile) (map[string]string, *filesystempb.File, error) {
		p := path.Clean(in.Path)
		content, ok := files[p]
		if !ok {
			return files, nil, fmt.Errorf("no such file: %s", p)
		}
		return files, &filesystempb.File{Path: p, Content: []byte(content)}, nil
	})
	actor.Handle(volume, func(_ *actor.Call, files map[string]string, in *filesystempb.WriteFile) (map[string]string, *filesystempb.File, error) {
		p := path.Clean(in.Path)
		next := maps.Clone(files)
		next[p] = string(in.Content)
		return next, &filesystempb.File{Path: p, Content: in.Content}, nil
	})
	actor.Handle(volume, func(_ *actor.Call, files map[string]string, in *filesystempb.DeleteFile) (map[string]string, *filesystempb.Deleted, error) {
		p := path.Clean(in.Path)
		if _, ok := files[p]; !ok {
			return files, nil, fmt.Errorf("no such file: %s", p)
		}
		next := maps.Clone(files)
		delete(next, p)
		return next, &filesystempb.Deleted{Path: p}, nil
	})
	return rt.Register(volume)
}

func registerIntents(types *intent.Registry) error {
	_, err1 := intent.Register(types, intent.Spec[*filesystempb.ReadFile]{
		Kind: "volume", IdentityField: "volume", Idempotent: true,
		RequiresFunc: func(m *filesystempb.ReadFile) ([]capability.Capability, error) { return need("read", m.Path) }})
	_, err2 := intent.Register(types, intent.Spec[*filesystempb.WriteFile]{
		Kind: "volume", IdentityField: "volume", Idempotent: true,
		RequiresFunc: func(m *filesystempb.WriteFile) ([]capability.Capability, error) { return need("write", m.Path) }})
	_, err3 := intent.Register(types, intent.Spec[*filesystempb.DeleteFile]{
		Kind: "volume", IdentityField: "volume",
		RequiresFunc: func(m *filesystempb.DeleteFile) ([]capability.Capability, error) { return need("delete", m.Path) }})
	return errors.Join(err1, err2, err3)
}

// need returns the capability to do op on the file at p. The path must be
// absolute and name a file, not a pattern; it is cleaned, so
// "/docs/../etc/passwd" needs a capability over "/etc/passwd". The runtime
// computes it before the reactor sees the intent, so handlers may rely on
// a valid path and clean it the same way with path.Clean.
func need(op, p string) ([]capability.Capability, error) {
	switch {
	case p == "":
		return nil, errors.New("empty path")
	case !strings.HasPrefix(p, "/"):
		return nil, fmt.Errorf("path %q is not absolute", p)
	case strings.Contains(p, "*"):
		return nil, fmt.Errorf("path %q contains \"*\": grants hold patterns, intents name files", p)
	}
	c, err := capability.New("file", op, p)
	if err != nil {
		return nil, err
	}
	if c.Resource == "/" {
		return nil, errors.New(`path "/" is the root, not a file`)
	}
	return []capability.Capability{c}, nil
}
