package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/packetflow/packetflow/store"
)

// maxJSONDepth bounds how deeply an imported document may nest objects.
const maxJSONDepth = 64

// jsonErr is an ErrInvalid error about an imported document.
func jsonErr(format string, args ...any) error {
	return fmt.Errorf("%w: import: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// decodeJSON reads a document in the form Snapshot.MarshalJSON writes into
// values by dotted key, for c to validate. It refuses malformed JSON,
// trailing data, duplicate keys, keys with '.' or none of the key
// characters, and documents over store.MaxDataLen bytes; unknown keys and
// wrong types are left to c.validate, which names them. A field given an
// object reads as an object, which validation refuses.
func decodeJSON(data []byte, c *compiled) (map[string]any, error) {
	if len(data) > store.MaxDataLen {
		return nil, jsonErr("document is %d bytes, more than %d", len(data), store.MaxDataLen)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, malformed(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, jsonErr("want a JSON object, got %s", tokenKind(tok))
	}
	out := map[string]any{}
	if err := decodeObject(dec, "", 1, out, c); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err == nil {
			return nil, jsonErr("data after the JSON object")
		}
		return nil, malformed(err)
	}
	return out, nil
}

// decodeObject reads the members of an object whose opening brace was
// read, at path prefix, into out; it consumes the closing brace.
func decodeObject(dec *json.Decoder, prefix string, depth int, out map[string]any, c *compiled) error {
	if depth > maxJSONDepth {
		return jsonErr("objects nest more than %d deep at %q", maxJSONDepth, prefix)
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return malformed(err)
		}
		name, _ := tok.(string) // the decoder only yields strings as object keys
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		if strings.Contains(name, ".") || checkKey(name) != nil {
			return jsonErr("bad key %q at %q: a key is letters, digits, '_' and '-'; nest objects for dotted paths", name, prefix)
		}
		if seen[name] {
			return jsonErr("key %q appears twice", path)
		}
		seen[name] = true
		if err := decodeMember(dec, path, depth, out, c); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return malformed(err)
	}
	return nil
}

// decodeMember reads the value of the member at path.
func decodeMember(dec *json.Decoder, path string, depth int, out map[string]any, c *compiled) error {
	tok, err := dec.Token()
	if err != nil {
		return malformed(err)
	}
	switch tok {
	case json.Delim('{'):
		if _, isField := c.fields[path]; isField {
			out[path] = map[string]any{}
			return decodeObject(dec, path, depth+1, map[string]any{}, c)
		}
		return decodeObject(dec, path, depth+1, out, c)
	case json.Delim('['):
		list := []any{}
		for dec.More() {
			var item any
			if err := dec.Decode(&item); err != nil {
				return malformed(err)
			}
			list = append(list, item)
		}
		if _, err := dec.Token(); err != nil {
			return malformed(err)
		}
		out[path] = list
	default:
		out[path] = tok
	}
	return nil
}

// malformed wraps a decoder error.
func malformed(err error) error {
	if errors.Is(err, io.EOF) {
		return jsonErr("malformed JSON: unexpected end of input")
	}
	return jsonErr("malformed JSON: %v", err)
}

// tokenKind names a top-level token for an error.
func tokenKind(tok json.Token) string {
	if d, ok := tok.(json.Delim); ok && d == '[' {
		return "an array"
	}
	return describe(tok)
}
