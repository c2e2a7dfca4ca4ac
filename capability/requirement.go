package capability

// Requirement is one compiled required capability, made by Catalog.Require.
// The zero Requirement is never satisfied.
type Requirement struct {
	capability Capability
	term
}

// Capability returns the (canonical) capability required.
func (r Requirement) Capability() Capability { return r.capability }

// String returns the capability's text form.
func (r Requirement) String() string { return r.capability.String() }

// Requirements is a compiled list of required capabilities; all of them
// must be satisfied. A nil or empty list is always satisfied.
type Requirements []Requirement

// Capabilities returns the required capabilities, in order.
func (r Requirements) Capabilities() []Capability {
	if len(r) == 0 {
		return nil
	}
	out := make([]Capability, len(r))
	for i := range r {
		out[i] = r[i].capability
	}
	return out
}
