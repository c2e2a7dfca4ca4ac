package config

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/packetflow/packetflow/component/config/configpb"
	"github.com/packetflow/packetflow/store"
)

// How a configuration sits in a store.Store: one record per component,
// under the key (StoreKind, component name), holding a configpb.State with
// every kept version. Each change is one compare-and-commit of that record,
// so the record's version is the configuration's version.
const (
	// StoreKind is the store.Key kind of configuration records; the
	// identity is the component's name.
	StoreKind = "packetflow.component.config"
	// stateType is the Record.Type of a configuration record.
	stateType = "packetflow.component.config.v1.State"
	// stateFormat is the Record.Schema of a configuration record: the
	// version of its encoding, not of the component's Schema.
	stateFormat = 1
)

// state is the kept versions, oldest first. It is never changed after it
// is built; the empty state (nothing committed) has no versions.
type state struct{ versions []*version }

// current is the latest version, or nil for the empty state.
func (s *state) current() *version {
	if len(s.versions) == 0 {
		return nil
	}
	return s.versions[len(s.versions)-1]
}

// number is the latest version's number, 0 for the empty state.
func (s *state) number() uint64 {
	if v := s.current(); v != nil {
		return v.number
	}
	return 0
}

// find returns version n, or nil when it is not kept.
func (s *state) find(n uint64) *version {
	if len(s.versions) == 0 || n < s.versions[0].number || n > s.number() {
		return nil
	}
	return s.versions[n-s.versions[0].number] // numbers are consecutive
}

// with returns a state that adds v after s's versions and keeps at most
// limit of them.
func (s *state) with(v *version, limit int) *state {
	keep := s.versions
	if len(keep) >= limit {
		keep = keep[len(keep)-limit+1:]
	}
	vs := make([]*version, 0, len(keep)+1)
	return &state{versions: append(append(vs, keep...), v)}
}

// encode is s's stored form: a configpb.State assembled from each
// version's encoding (version.enc), so that a commit copies the kept
// versions instead of marshalling them again.
func (s *state) encode() []byte {
	size := 0
	for _, v := range s.versions {
		size += protowire.SizeTag(stateVersionsField) + protowire.SizeBytes(len(v.enc))
	}
	out := make([]byte, 0, size)
	for _, v := range s.versions {
		out = protowire.AppendTag(out, stateVersionsField, protowire.BytesType)
		out = protowire.AppendBytes(out, v.enc)
	}
	return out
}

// stateVersionsField is the field number of configpb.State.versions.
const stateVersionsField = 1

// encode is v's stored form, a configpb.Version, marshalled
// deterministically so that equal versions encode to equal bytes.
func (v *version) encode() ([]byte, error) {
	pv := &configpb.Version{
		Number:       v.number,
		Values:       make(map[string]*configpb.Value, len(v.values)),
		UnixNanos:    v.time.UnixNano(),
		Cause:        string(v.cause),
		RestoredFrom: v.restoredFrom,
	}
	for k, x := range v.values {
		pval, err := encodeValue(x)
		if err != nil {
			return nil, fmt.Errorf("config: version %d, key %q: %w", v.number, k, err)
		}
		pv.Values[k] = pval
	}
	return proto.MarshalOptions{Deterministic: true}.Marshal(pv)
}

// encodeValue is one canonical value's stored form.
func encodeValue(x any) (*configpb.Value, error) {
	var pv configpb.Value
	switch v := x.(type) {
	case string:
		pv.Kind = &configpb.Value_StringValue{StringValue: v}
	case int64:
		pv.Kind = &configpb.Value_IntValue{IntValue: v}
	case float64:
		pv.Kind = &configpb.Value_FloatValue{FloatValue: v}
	case bool:
		pv.Kind = &configpb.Value_BoolValue{BoolValue: v}
	case time.Duration:
		pv.Kind = &configpb.Value_DurationNanos{DurationNanos: int64(v)}
	case []string:
		pv.Kind = &configpb.Value_StringList{StringList: &configpb.StringList{Items: v}}
	default: // validation yields only the types above
		return nil, fmt.Errorf("value of Go type %T cannot be stored", x)
	}
	return &pv, nil
}

// decodeState reads key's record. Versions that known holds with the same
// encoding are reused rather than decoded again. A record that is not a
// configuration, or is damaged, is an error matching store.ErrCorrupt.
func decodeState(key store.Key, rec store.Record, known *state) (*state, error) {
	if rec.Version == 0 {
		return &state{}, nil
	}
	st, err := decodeRecord(rec, known)
	if err != nil {
		return nil, fmt.Errorf("%w: config %s version %d: %v", store.ErrCorrupt, key, rec.Version, err)
	}
	return st, nil
}

func decodeRecord(rec store.Record, known *state) (*state, error) {
	if rec.Type != stateType || rec.Schema != stateFormat {
		return nil, fmt.Errorf("record holds %s format %d, not %s format %d", rec.Type, rec.Schema, stateType, stateFormat)
	}
	st := &state{}
	for b := rec.Data; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, fmt.Errorf("undecodable state: %w", protowire.ParseError(n))
		}
		if num != stateVersionsField || typ != protowire.BytesType {
			n = protowire.ConsumeFieldValue(num, typ, b[n:]) + n // a field of a later format: skip it
			if n < 0 {
				return nil, fmt.Errorf("undecodable state: %w", protowire.ParseError(n))
			}
			b = b[n:]
			continue
		}
		enc, m := protowire.ConsumeBytes(b[n:])
		if m < 0 {
			return nil, fmt.Errorf("undecodable state: %w", protowire.ParseError(m))
		}
		b = b[n+m:]
		v, err := decodeVersion(enc, known)
		if err != nil {
			return nil, err
		}
		if len(st.versions) > 0 && v.number != st.number()+1 {
			return nil, fmt.Errorf("kept versions jump from %d to %d", st.number(), v.number)
		}
		st.versions = append(st.versions, v)
	}
	if st.number() != rec.Version {
		return nil, fmt.Errorf("its latest kept version is %d, not the record's version", st.number())
	}
	return st, nil
}

// decodeVersion reads one version's encoding, or reuses known's version
// when it has exactly that encoding.
func decodeVersion(enc []byte, known *state) (*version, error) {
	if k := known.find(peekNumber(enc)); k != nil && bytes.Equal(k.enc, enc) {
		return k, nil
	}
	var pv configpb.Version
	if err := proto.Unmarshal(enc, &pv); err != nil {
		return nil, fmt.Errorf("undecodable version: %w", err)
	}
	v := &version{
		number:       pv.Number,
		values:       make(map[string]any, len(pv.Values)),
		time:         time.Unix(0, pv.UnixNanos),
		cause:        Cause(pv.Cause),
		restoredFrom: pv.RestoredFrom,
		enc:          bytes.Clone(enc),
	}
	for k, pval := range pv.Values {
		x, err := decodeValue(pval)
		if err != nil {
			return nil, fmt.Errorf("version %d, key %q: %w", pv.Number, k, err)
		}
		v.values[k] = x
	}
	return v, nil
}

// peekNumber is the number of an encoded version when it comes first, as
// it does in this package's encoding; otherwise 0, which no version has.
func peekNumber(enc []byte) uint64 {
	num, typ, n := protowire.ConsumeTag(enc)
	if n < 0 || num != 1 || typ != protowire.VarintType {
		return 0
	}
	v, m := protowire.ConsumeVarint(enc[n:])
	if m < 0 {
		return 0
	}
	return v
}

// decodeValue is a stored value's canonical Go value.
func decodeValue(pv *configpb.Value) (any, error) {
	switch k := pv.GetKind().(type) {
	case *configpb.Value_StringValue:
		return k.StringValue, nil
	case *configpb.Value_IntValue:
		return k.IntValue, nil
	case *configpb.Value_FloatValue:
		return k.FloatValue, nil
	case *configpb.Value_BoolValue:
		return k.BoolValue, nil
	case *configpb.Value_DurationNanos:
		return time.Duration(k.DurationNanos), nil
	case *configpb.Value_StringList:
		return nonNil(k.StringList.GetItems()), nil
	}
	return nil, errors.New("value has no kind")
}
