package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Type is the type of a field's value. Each has one Go representation,
// the one Snapshot returns and Field.Check receives.
type Type uint8

// The field types.
const (
	String   Type = iota + 1 // string
	Int                      // int64; any Go integer that fits is accepted
	Float                    // float64, finite; Go integers are accepted
	Bool                     // bool
	Duration                 // time.Duration; a string such as "1m30s" is accepted
	Strings                  // []string, a list of strings
)

// String returns the type's name as errors use it: "string", "int",
// "float", "bool", "duration" or "list of strings".
func (t Type) String() string {
	switch t {
	case String:
		return "string"
	case Int:
		return "int"
	case Float:
		return "float"
	case Bool:
		return "bool"
	case Duration:
		return "duration"
	case Strings:
		return "list of strings"
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// Field declares one configuration value.
type Field struct {
	// Key is the field's dotted path, such as "db.pool.size": segments of
	// letters, digits, '_' and '-', joined by '.'. In JSON each segment
	// but the last is a nested object. No key may be a prefix path of
	// another ("db.pool" and "db.pool.size" cannot both be fields).
	Key string
	// Type is the value's type; the zero Type is refused.
	Type Type
	// Required fields must have a value in every version. A required
	// field cannot have a Default.
	Required bool
	// Default, when not nil, is the value a configuration gets when it
	// does not set the field. Defaults are applied when a version is
	// written, so every snapshot holds them. It must have the field's
	// type and pass Check.
	Default any
	// Check, when not nil, validates the field's value (of the Go type
	// Type names) whenever it has one. Its error becomes the Reason of a
	// *FieldError that names the field and wraps it.
	Check func(value any) error
	// Doc says what the field is for, for people.
	Doc string
}

// Schema is the typed shape of a component's configuration. The zero
// Schema declares no fields, so only the empty configuration is valid.
type Schema struct {
	// Fields are the declared values. A key that no field declares is
	// refused.
	Fields []Field
	// Check, when not nil, validates the whole candidate configuration
	// (its Version is 0) after every field passed its own checks: rules
	// across fields. A *FieldError it returns is kept as it is, so it can
	// name the field at fault; any other error becomes a *FieldError with
	// an empty Field.
	Check func(Snapshot) error
}

// compiled is a Schema checked and indexed for validation.
type compiled struct {
	fields  map[string]*Field // by key; Default holds the normalized value
	keys    []string          // the field keys, sorted
	objects map[string]bool   // every proper prefix path of a key ("db", "db.pool")
	check   func(Snapshot) error
}

// compile checks s's definition. Its errors match ErrInvalid and name the
// field that is wrongly declared.
func (s Schema) compile() (*compiled, error) {
	c := &compiled{fields: make(map[string]*Field, len(s.Fields)), objects: map[string]bool{}, check: s.Check}
	var errs []error
	for i := range s.Fields {
		f := s.Fields[i] // a copy: the caller's slice stays untouched
		if err := checkKey(f.Key); err != nil {
			errs = append(errs, fieldErr(f.Key, "schema: bad key: %s", err))
			continue
		}
		if _, dup := c.fields[f.Key]; dup {
			errs = append(errs, fieldErr(f.Key, "schema: declared twice"))
			continue
		}
		if f.Type < String || f.Type > Strings {
			errs = append(errs, fieldErr(f.Key, "schema: unknown type %d", f.Type))
			continue
		}
		if f.Default != nil {
			if f.Required {
				errs = append(errs, fieldErr(f.Key, "schema: a required field cannot have a default"))
				continue
			}
			v, err := normalize(&f, f.Default)
			if err == nil {
				err = runCheck(&f, v)
			}
			if err != nil {
				errs = append(errs, fieldErr(f.Key, "schema: bad default: %s", reasonOf(err)))
				continue
			}
			f.Default = v
		}
		c.fields[f.Key] = &f
		c.keys = append(c.keys, f.Key)
		for i := range len(f.Key) {
			if f.Key[i] == '.' {
				c.objects[f.Key[:i]] = true
			}
		}
	}
	slices.Sort(c.keys)
	for _, k := range c.keys {
		if c.objects[k] {
			errs = append(errs, fieldErr(k, "schema: is both a field and the parent of other fields"))
		}
	}
	if err := joinFieldErrors(errs); err != nil {
		return nil, err
	}
	return c, nil
}

// checkKey says what is wrong with a dotted key, if anything.
func checkKey(key string) error {
	if key == "" {
		return errors.New("empty")
	}
	for seg := range strings.SplitSeq(key, ".") {
		if seg == "" {
			return errors.New("empty segment")
		}
		for _, r := range seg {
			if !(r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				return fmt.Errorf("segment %q has %q; only letters, digits, '_' and '-' are allowed", seg, r)
			}
		}
	}
	return nil
}

// Validate checks values (by dotted key) against s as a whole
// configuration: it converts each value to its field's Go type, applies
// defaults, and runs the required, field and schema checks. It returns
// the resulting configuration as a snapshot with Version 0, or an error
// that names every field at fault (a *FieldError, or several joined).
// Validate does not expand templates.
func (s Schema) Validate(values map[string]any) (Snapshot, error) {
	c, err := s.compile()
	if err != nil {
		return Snapshot{}, err
	}
	vals, err := c.validate(values)
	if err != nil {
		return Snapshot{}, err
	}
	return Snapshot{v: &version{values: vals}}, nil
}

// validate is Validate on a compiled schema. The result shares no mutable
// state with raw.
func (c *compiled) validate(raw map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(c.keys))
	var errs []error
	for _, k := range sortedKeys(raw) {
		f, ok := c.fields[k]
		if !ok {
			errs = append(errs, c.unknown(k))
			continue
		}
		v, err := normalize(f, raw[k])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out[k] = v
	}
	for _, k := range c.keys {
		f := c.fields[k]
		v, ok := out[k]
		switch {
		case !ok && f.Default != nil:
			out[k] = f.Default
		case !ok && f.Required:
			if _, bad := raw[k]; !bad {
				errs = append(errs, fieldErr(k, "required, and not set"))
			}
		case ok:
			if err := runCheck(f, v); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) == 0 && c.check != nil {
		if err := guard(func() error { return c.check(Snapshot{v: &version{values: out}}) }); err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				err = &FieldError{Reason: "schema check: " + err.Error(), Err: err}
			}
			errs = append(errs, err)
		}
	}
	if err := joinFieldErrors(errs); err != nil {
		return nil, err
	}
	return out, nil
}

// unknown is the error for a key the schema does not declare.
func (c *compiled) unknown(k string) error {
	if c.objects[k] {
		return fieldErr(k, "is an object of fields, not a field")
	}
	return fieldErr(k, "unknown field (the schema does not declare it)")
}

// runCheck runs f.Check on v, turning its error into a *FieldError.
func runCheck(f *Field, v any) error {
	if f.Check == nil {
		return nil
	}
	if err := guard(func() error { return f.Check(v) }); err != nil {
		return &FieldError{Field: f.Key, Reason: err.Error(), Err: err}
	}
	return nil
}

// guard runs check, turning a panic into an error, so that a faulty
// validator refuses a change instead of crashing the member.
func guard(check func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("check panicked: %v", p)
		}
	}()
	return check()
}

// reasonOf is err's Reason when it is a *FieldError, else its text.
func reasonOf(err error) string {
	var fe *FieldError
	if errors.As(err, &fe) {
		return fe.Reason
	}
	return err.Error()
}

// IntRange is a Field.Check for an Int field: the value must lie in
// [lo, hi].
func IntRange(lo, hi int64) func(any) error {
	return func(v any) error {
		n, ok := v.(int64)
		if !ok {
			return fmt.Errorf("is %s, not an int", describe(v))
		}
		if n < lo || n > hi {
			return fmt.Errorf("%d is out of range [%d, %d]", n, lo, hi)
		}
		return nil
	}
}

// OneOf is a Field.Check for a String field: the value must be one of
// allowed.
func OneOf(allowed ...string) func(any) error {
	return func(v any) error {
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("is %s, not a string", describe(v))
		}
		if !slices.Contains(allowed, s) {
			return fmt.Errorf("%q is not one of %s", s, strings.Join(allowed, ", "))
		}
		return nil
	}
}
